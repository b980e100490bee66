import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 ships CommonJS (main) and ESM (module) builds; Node (and so graphql-yoga) loads
    // the CommonJS one, so the tests must too, or the schema comes "from another realm".
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // DuckDB is a native addon: separate processes keep each test file's database to itself.
    pool: 'forks',
    // A private Postgres cluster for the Postgres tests, and a Trino cluster (a coordinator and a
    // worker) for the Trino tests, each started once and stopped afterwards.
    globalSetup: ['test/setup/postgres.ts', 'test/setup/trino.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
