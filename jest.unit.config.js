// Jest loads its config files as CommonJS.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const esm = require('./jest.esm');

/**
 * `npm run test:unit`: the suites that need no Temporal (route validation, auth and error mapping
 * over fakes, and the pure modules), in parallel. FERRY_UNIT makes any attempt to start a Temporal
 * server fail the suite.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/unit'],
  testMatch: ['**/*.test.ts'],
  ...esm,
  setupFiles: ['<rootDir>/test/helpers/unit-setup.ts'],
  reporters: [['default', { summaryThreshold: 0 }]],
  testTimeout: 20_000,
};
