/**
 * `npm run test:unit`: the suites that need no Temporal (route validation, auth and error mapping
 * over fakes, and the pure modules), in parallel. FERRY_UNIT makes any attempt to start a Temporal
 * server fail the suite.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/unit'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest'], '/node_modules/cookie/.+\\.js$': ['@swc/jest'] },
  // light-my-request (Fastify's inject) requires cookie 2, which is ES modules only; Jest's own
  // module loader cannot require those, so that one package is compiled like the tests.
  transformIgnorePatterns: ['/node_modules/(?!cookie/)'],
  setupFiles: ['<rootDir>/test/helpers/unit-setup.ts'],
  reporters: [['default', { summaryThreshold: 0 }]],
  testTimeout: 20_000,
};
