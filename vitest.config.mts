import { defineConfig } from 'vitest/config';

/**
 * Test files that run after the rest, one at a time: those that load the whole machine for
 * minutes (2,000 farms and their batches; a real Temporal server on PostgreSQL with its bot and
 * worker processes), so that the tests that wait on timers and restarts are
 * not starved of the two cores and the one server they share; and the broadcast that must draw
 * no 429 from the local Bot API server, whose sends are paced to the quarter second: beside
 * another file, a stalled event loop on a loaded host bunched them past Telegram's 30 a second.
 */
const ALONE = [
  'test/workflows/player-batch.test.ts',
  'test/bot/notifications.test.ts',
  'test/dev/stack/stack.test.ts',
];

export default defineConfig({
  test: {
    reporters: ['default', './test/setup/summary-reporter.ts'],
    // One Temporal dev server and one workflow bundle for each project's run.
    globalSetup: ['test/setup/global.ts'],
    testTimeout: 30_000,
    // What a test waits for happens in milliseconds alone; two test files share two cores, so a
    // poll that says no bound of its own gets 10 s, not vitest's 1 s, before it fails.
    expect: { poll: { timeout: 10_000 } },
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        // Two cores: two test files at a time, each with its own worker, share the one server.
        test: {
          name: 'shared',
          include: ['test/**/*.test.ts'],
          exclude: ALONE,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'alone', include: ALONE, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
