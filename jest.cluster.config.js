/**
 * `npm run test:cluster`: the HTTP, push, lmstfy-client and fault suites against the production
 * shape (PostgreSQL, the full Temporal server, two workers and two API processes), which
 * test/cluster/global-setup.ts starts once for all of them.
 */
// Jest loads its config files as CommonJS.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const base = require('./jest.config');

module.exports = {
  ...base,
  testPathIgnorePatterns: [],
  testMatch: [
    '<rootDir>/test/api/queue-api.test.ts',
    '<rootDir>/test/api/admin-api.test.ts',
    '<rootDir>/test/api/hardening.test.ts',
    '<rootDir>/test/api/schedules.test.ts',
    '<rootDir>/test/push/push-api.test.ts',
    '<rootDir>/test/compat/lmstfy-go-client.test.ts',
    '<rootDir>/test/scale/backlog.test.ts',
    '<rootDir>/test/faults/*.test.ts',
  ],
  globalSetup: '<rootDir>/test/cluster/global-setup.ts',
  globalTeardown: '<rootDir>/test/cluster/global-teardown.ts',
};
