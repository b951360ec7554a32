import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    // A hang guard, not a speed assert: tests that open an embedded database or spawn the
    // service inside the test body need headroom on a loaded two-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: more workers only make the embedded databases fight for them.
    maxWorkers: 2,
    // Unhandled errors fail the run; nothing is ignored.
    dangerouslyIgnoreUnhandledErrors: false,
  },
});
