import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // DuckDB is a native addon: separate processes keep each test file's database to itself.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
