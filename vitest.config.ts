import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: more workers only make the embedded databases fight for them.
    maxWorkers: 2,
    // Unhandled errors fail the run; nothing is ignored.
    dangerouslyIgnoreUnhandledErrors: false,
  },
});
