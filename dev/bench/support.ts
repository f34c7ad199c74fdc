/**
 * `npm run bench:support`: how long a player's story takes to read (what the support CLI, API and
 * console show) for a player with many messages.
 *
 * One player sends `--messages` messages (default 10,000: opening the farm, the daily bonus and
 * preference changes, many of them refused), and a second player only a few. Then, `--rounds`
 * times each, interleaved: the newest page of the busy player's story (50 entries), a page from
 * the middle of their history (`before`), the quiet player's story, and the baseline, one page of
 * 50 of the busy player's workflows from visibility by UserHash (what the Temporal UI's list asks).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import { createStoryReader } from '../../bot/support/story';
import { type Intent, IntentTimeoutError } from '../../bot/game-client';
import { WORKFLOW_TYPES } from '../../workflows/contract';
import { startBenchGame } from './harness';
import { formatTable, summarize } from './measure';
import { type BenchOutcome, type BenchRun, runBench } from './run';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '7' },
  },
});
const MESSAGES = Number(args.messages);
const ROUNDS = Number(args.rounds);
/**
 * Messages in flight while the busy player's history is made: the farm applies them in turn, and
 * the server takes at most 10 updates of one workflow in flight (history.maxInFlightUpdates).
 */
const SENDING_IN_FLIGHT = 8;
/** The bound for one story of a player with 10,000 messages. */
const STORY_BOUND_MS = 5_000;

const INTENTS: Intent[] = [
  { type: 'query' },
  { type: 'message', action: { type: 'claimDailyBonus' } },
  { type: 'message', action: { type: 'setPreferences', showName: false } },
  { type: 'message', action: { type: 'sell', cropId: 'wheat', quantity: 1 } },
  { type: 'message', action: { type: 'setPreferences', showName: true } },
];

async function main({ config, logger, shutdown, say }: BenchRun): Promise<BenchOutcome> {
  if (!Number.isInteger(MESSAGES) || MESSAGES < 10 || !Number.isInteger(ROUNDS) || ROUNDS < 1) {
    throw new Error('--messages must be a whole number of at least 10, --rounds at least 1');
  }
  const game = await startBenchGame({ config, logger, shutdown, say, timeScale: 1 });
  const story = createStoryReader({
    client: game.plainClient,
    namespace: game.namespace,
    temporalUiUrl: config.support.temporalUiUrl,
    redis: { redis: game.redis, keyPrefix: game.keyPrefix },
  });

  const busy = { telegramUserId: 7_000_001, chatId: 7_000_001 };
  const quiet = { telegramUserId: 7_000_002, chatId: 7_000_002 };
  const busyCode = game.game.userHashOf(busy.telegramUserId);
  const quietCode = game.game.userHashOf(quiet.telegramUserId);
  for (let i = 0; i < 5; i += 1) {
    await game.game.handleIntent(quiet, INTENTS[i % INTENTS.length]!, `quiet-${i}`);
  }

  say(`sending ${MESSAGES} messages as one player, ${SENDING_IN_FLIGHT} in flight`);
  const sending = pLimit(SENDING_IN_FLIGHT);
  const began = performance.now();
  let sent = 0;
  let middle: Date | undefined;
  await Promise.all(
    Array.from({ length: MESSAGES }, (_, i) =>
      sending(async () => {
        // As Telegram redelivers: the same update id, answered once (a slow farm may take longer
        // than the game client's bound).
        for (let attempt = 1; ; attempt += 1) {
          try {
            await game.game.handleIntent(busy, INTENTS[i % INTENTS.length]!, `busy-${i}`);
            break;
          } catch (err) {
            if (!(err instanceof IntentTimeoutError) || attempt === 3) throw err;
          }
        }
        sent += 1;
        if (sent === Math.floor(MESSAGES / 2)) middle = new Date();
        if (sent % 1000 === 0) say(`${sent} sent`);
      }),
    ),
  );
  const sendingS = (performance.now() - began) / 1000;
  say(`sent in ${sendingS.toFixed(0)} s; waiting for visibility to list them all`);
  const countQuery = `UserHash = '${busyCode}' AND WorkflowType != '${WORKFLOW_TYPES.gameFarm}'`;
  for (;;) {
    const { count } = await game.plainClient.workflow.count(countQuery);
    if (count >= MESSAGES) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  const timings = { newest: [] as number[], middle: [] as number[], quiet: [] as number[] };
  const baseline: number[] = [];
  let entries = 0;
  let bytes = 0;
  const timed = async (samples: number[], call: () => Promise<unknown>) => {
    const start = performance.now();
    const result = await call();
    samples.push(performance.now() - start);
    return result;
  };
  say(`reading stories, ${ROUNDS} rounds`);
  for (let round = 0; round < ROUNDS; round += 1) {
    const newest = (await timed(timings.newest, () => story.read(busyCode))) as Awaited<
      ReturnType<typeof story.read>
    >;
    entries = newest.timeline.length;
    bytes = JSON.stringify(newest).length;
    await timed(timings.middle, () => story.read(busyCode, { before: middle! }));
    await timed(timings.quiet, () => story.read(quietCode));
    await timed(baseline, async () => {
      let n = 0;
      for await (const _ of game.plainClient.workflow.list({
        query: `UserHash = '${busyCode}'`,
        pageSize: 50,
      })) {
        if ((n += 1) >= 50) break;
      }
    });
  }

  const ms = (x: number) => x.toFixed(0);
  const statsOf = (samples: number[]) => ({
    p50: summarize(samples).p50,
    max: Math.max(...samples),
  });
  const stats = {
    newest: statsOf(timings.newest),
    middle: statsOf(timings.middle),
    quiet: statsOf(timings.quiet),
    baseline: statsOf(baseline),
  };
  const rows = [
    ['read', 'p50 ms', 'max ms'],
    [`story, newest ${entries} (${MESSAGES} messages)`, ms(stats.newest.p50), ms(stats.newest.max)],
    ['story, a page from the middle', ms(stats.middle.p50), ms(stats.middle.max)],
    ['story of a player with 5 messages', ms(stats.quiet.p50), ms(stats.quiet.max)],
    ['baseline: one visibility page of 50', ms(stats.baseline.p50), ms(stats.baseline.max)],
  ];
  const within = stats.newest.max <= STORY_BOUND_MS && stats.middle.max <= STORY_BOUND_MS;
  const report = [
    `bench:support on ${game.server}; ${MESSAGES} messages sent in ${sendingS.toFixed(0)} s (${(MESSAGES / sendingS).toFixed(0)}/s)`,
    formatTable(rows),
    `story JSON: ${(bytes / 1024).toFixed(0)} KiB for ${entries} timeline entries`,
    `ratio story p50 (${MESSAGES} messages) / quiet player's story p50: ${(stats.newest.p50 / stats.quiet.p50).toFixed(2)}`,
    `ratio story p50 / one visibility page p50: ${(stats.newest.p50 / stats.baseline.p50).toFixed(2)}`,
    `story max at ${MESSAGES} messages: ${ms(Math.max(stats.newest.max, stats.middle.max))} ms (bound ${STORY_BOUND_MS} ms: ${within ? 'within' : 'OVER'})`,
    '',
  ].join('\n');
  return { report, failed: !within };
}

runBench(main);
