import { defineConfig } from 'vitest/config';

/**
 * One suite, two engines: every test file runs once on SQLite and, when TEST_DATABASE_URL
 * points at a PostgreSQL server, once more on PostgreSQL. Each file gets a fresh database
 * (see apps/server/test/harness.ts), so files never share state.
 */
const engines = ['sqlite', ...(process.env.TEST_DATABASE_URL ? ['postgres'] : [])];

export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll waits for what a browser shows; its 1 s default is shorter than a loaded CI
    // machine takes to answer a page (a waited-for state still fails when it never comes).
    expect: { poll: { timeout: 15_000 } },
    projects: engines.map((engine) => ({
      extends: true,
      test: {
        name: engine,
        include: [
          'apps/*/src/**/*.test.ts',
          'apps/*/test/**/*.test.ts',
          'packages/*/src/**/*.test.ts',
        ],
        env: { GATEHOUSE_TEST_ENGINE: engine },
      },
    })),
  },
});
