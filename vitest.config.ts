import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Suites start real HTTP servers and processes; two cores, so keep parallelism modest.
    maxWorkers: 2,
    pool: 'forks',
  },
});
