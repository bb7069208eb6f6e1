/** Integration and time-skipping suites each start a Temporal server, so they run one file at a time. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  maxWorkers: 1,
  setupFiles: ['<rootDir>/test/setup.ts'],
  testTimeout: 60_000,
};
