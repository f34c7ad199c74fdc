import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/setup/summary-reporter.ts'],
    // One Temporal dev server and one workflow bundle for the whole run.
    globalSetup: ['test/setup/global.ts'],
    testTimeout: 30_000,
    // What a test waits for happens in milliseconds alone; two test files share two cores, so a
    // poll that says no bound of its own gets 10 s, not vitest's 1 s, before it fails.
    expect: { poll: { timeout: 10_000 } },
    hookTimeout: 60_000,
    // Two cores: two test files at a time, each with its own worker, share the one server.
    maxWorkers: 2,
  },
});
