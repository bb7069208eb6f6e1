// Jest loads its config files as CommonJS.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const esm = require('./jest.esm');

/** Integration and time-skipping suites each start a Temporal server, so they run one file at a time. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The backlog, fuzz and fault suites take minutes, and the Web UI suite needs Chromium; they run
  // on their own (`npm run test:scale`, `test:fuzz`, `test:faults`, `test:ui`), and CI runs them
  // after `npm test`.
  testPathIgnorePatterns: [
    process.env.FERRY_SCALE ? '' : '/test/scale/',
    process.env.FERRY_FUZZ ? '' : '/test/fuzz/',
    process.env.FERRY_FAULTS ? '' : '/test/faults/',
    process.env.FERRY_UI ? '' : '/test/ui/',
  ].filter(Boolean),
  ...esm,
  maxWorkers: 1,
  // CI shows only part of a long log: every failure is listed again at its end.
  reporters: [['default', { summaryThreshold: 0 }]],
  testTimeout: 60_000,
};
