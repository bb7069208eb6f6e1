/** Integration and time-skipping suites each start a Temporal server, so they run one file at a time. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The backlog suite takes minutes; it runs on its own with `npm run test:scale` (CI runs both).
  testPathIgnorePatterns: process.env.FERRY_SCALE ? [] : ['/test/scale/'],
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  maxWorkers: 1,
  setupFiles: ['<rootDir>/test/setup.ts'],
  testTimeout: 60_000,
};
