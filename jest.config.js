/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: {
    // Type checking is done once by `npm run typecheck`; jest only transpiles.
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.dev.json' }],
  },
  testTimeout: 60000,
  // Builds the handler bundles (and the jsii assembly) when missing or stale: any single file runs on a fresh clone.
  globalSetup: '<rootDir>/test/support/build-before-tests.js',
  // The run's own TMPDIR (set by the setup), deleted whole: the CDK apps' assemblies are never left in /tmp.
  globalTeardown: '<rootDir>/test/support/test-temp-dir.js',
};
