/**
 * `npm run bench:scale -- --farms 10000`: what a player's message costs, and what the worker
 * process holds, with 1,000 and then `--farms` farms running, on a stack of its own (the Temporal
 * server on PostgreSQL with 4 history shards, the worker as production runs it, in a process of its
 * own: dev/stack). This process plays the bot's part: its main-menu worker starts each
 * MainMenuMessage eagerly, whose farm update runs on the stack's worker.
 *
 * At each size: the worker's RSS once every farm has run; then the worker is restarted (its start
 * time, with the prebuilt workflow bundle, is measured), so that its sticky cache is empty, and a
 * sample of farms each gets one message (cold: each farm replays its history first, and the
 * worker's `temporal_sticky_cache_miss` counts it), then one more (warm: the farm is in the cache).
 * The run fails when fewer than 90 % of the cold pass's messages were cache misses: then the cold
 * figures would not be what they claim. Its last two lines are the RSS at the largest size and the
 * ratio of the cold p50 to the warm p50 there.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { Command } from 'commander';
import pLimit from 'p-limit';
import { createMainMenuActivities } from '../../activities/main-menu';
import { createEarlyAnswers } from '../../activities/early-answers';
import { createGameClient, type GameClient, type Player } from '../../bot/game-client';
import { newFarm } from '../../game';
import { parseCommandLine, positiveNumber } from '../../infra/command-line';
import { encryptChatId, userHash as deriveUserHash } from '../../infra/identity';
import { createLogger } from '../../infra/logging';
import { farmflowDataConverter } from '../../store/payload-files';
import { createWorker, runWorker } from '../../worker/create-worker';
import { installTemporalRuntime } from '../../worker/runtime';
import { PREBUILT_BUNDLE_PATH } from '../../worker/bundle';
import {
  type FarmCarriedState,
  farmWorkflowId,
  TASK_QUEUES,
  WORKFLOW_TYPES,
} from '../../workflows/contract';
import type { Stack } from '../stack/stack';
import { formatTable, summarize } from './measure';
import { type OwnStack, startOwnStack } from './own-stack';

/** The sizes measured below the largest. */
const SMALLER_SIZES = [1_000];
/** The share of the cold pass that must have missed the cache for its figures to count. */
const COLD_MISS_FLOOR = 0.9;
const FIRST_USER_ID = 8_100_000_000;

interface Options {
  farms: number;
  sample: number;
  history: number;
  keep?: boolean;
}

function parseArgs(): Options | number {
  const program = new Command()
    .name('npm run bench:scale --')
    .description('Message latency and worker memory with many farms, sticky cache warm and cold.')
    .option(
      '--farms <n>',
      'the largest number of farms (1,000 is measured first)',
      positiveNumber(1_000_000),
      10_000,
    )
    .option('--sample <n>', 'farms messaged in each pass', positiveNumber(5_000), 200)
    .option(
      '--history <n>',
      'messages each sampled farm gets before the worker restarts (its history to replay)',
      positiveNumber(1_000),
      20,
    )
    .option('--keep', 'keep the stack (databases, folder, Redis keys) to look at afterwards');
  return parseCommandLine(program) ?? program.opts<Options>();
}

/**
 * Sums of the stack's worker's series on the game task queue (counters, gauges, histograms'
 * `_count`), by metric name, from its /metrics.
 */
async function workerMetrics(stack: Stack, only = ''): Promise<Map<string, number>> {
  const text = await (
    await fetch(`${stack.urls.workerMetrics}/metrics`, { signal: AbortSignal.timeout(10_000) })
  ).text();
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.includes(`task_queue="${TASK_QUEUES.game}"`)) continue;
    if (!line.includes(only)) continue;
    const name = line.slice(0, line.indexOf('{'));
    sums.set(name, (sums.get(name) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return sums;
}

/** Workflow tasks the worker process has run for farms. */
const farmTasksRun = async (stack: Stack) =>
  (await workerMetrics(stack, 'workflow_type="GameFarmWorkflow"')).get(
    'temporal_workflow_task_execution_latency_count',
  ) ?? 0;

/** What a pass did to the worker's sticky cache, from its metrics before and after. */
async function cacheDelta(stack: Stack, before: Map<string, number>) {
  const after = await workerMetrics(stack);
  const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
  return {
    // Farms loaded into the cache: each came in with its whole history and was replayed.
    misses:
      delta('temporal_sticky_cache_size') + delta('temporal_sticky_cache_total_forced_eviction'),
    replays: delta('temporal_workflow_task_replay_latency_count'),
    // The worker's time in the farms' workflow tasks (a cold one replays the history first).
    taskMs: delta('temporal_workflow_task_execution_latency_sum'),
    after,
  };
}

function rssMb(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) / 1024 : Number.NaN;
}

interface SizeResult {
  farms: number;
  createSeconds: number;
  rssMb: number;
  workerStartMs: number;
  cold: number[];
  warm: number[];
  /** Right after the restart, nothing cached. */
  idleRssMb: number;
  coldMisses: number;
  /** Workflow tasks replayed during the cold pass. */
  coldReplays: number;
  warmMisses: number;
  /** The worker's workflow-task time per message, ms. */
  coldTaskMs: number;
  warmTaskMs: number;
}

async function main(options: Options): Promise<number> {
  const began = performance.now();
  const say = (line: string) =>
    process.stderr.write(`${((performance.now() - began) / 1000).toFixed(1)} s ${line}\n`);
  const logger = createLogger('error');
  installTemporalRuntime(logger);
  const own = await startOwnStack({
    prefix: 'scale',
    // Real time: farms wait for hours, as players' farms do; no timer fires during the run.
    gameTimeScale: 1,
    logger,
    say,
    keep: options.keep,
  });
  const { stack } = own;
  try {
    const game = await botSide(own);
    const results: SizeResult[] = [];
    let created = 0;
    for (const size of [...SMALLER_SIZES.filter((n) => n < options.farms), options.farms]) {
      const createStarted = performance.now();
      say(`Starting farms ${created + 1}–${size}…`);
      const ranBefore = await farmTasksRun(stack);
      await startFarms(stack, game.client, created, size);
      await waitForFarms(stack, ranBefore, size - created, say);
      created = size;
      const createSeconds = (performance.now() - createStarted) / 1000;
      const sample = sampleOf(size, options.sample);
      say(`Giving ${sample.length} farms ${options.history} messages each (history to replay)…`);
      await playHistory(game.game, sample, options.history);
      const rss = rssMb(stack.worker.pid);
      say(`${size} farms running; worker RSS ${rss.toFixed(0)} MB. Restarting the worker…`);
      await stack.worker.stop();
      const restartStarted = performance.now();
      await stack.worker.start();
      const workerStartMs = performance.now() - restartStarted;
      const idleRss = rssMb(stack.worker.pid);
      const beforeCold = await workerMetrics(stack);
      say(`Cold pass: ${sample.length} farms, each its first message since the restart…`);
      const cold = await messagePass(game.game, sample, true);
      const coldCache = await cacheDelta(stack, beforeCold);
      say('Warm pass: the same farms again…');
      const warm = await messagePass(game.game, sample, false);
      const warmCache = await cacheDelta(stack, coldCache.after);
      results.push({
        farms: size,
        createSeconds,
        rssMb: rss,
        workerStartMs,
        cold,
        warm,
        idleRssMb: idleRss,
        coldMisses: coldCache.misses,
        coldReplays: coldCache.replays,
        warmMisses: warmCache.misses,
        coldTaskMs: coldCache.taskMs / cold.length,
        warmTaskMs: warmCache.taskMs / warm.length,
      });
    }
    const { report, failed } = formatReport(results, options.sample, options.history);
    await own.close();
    process.stdout.write(report);
    return failed ? 1 : 0;
  } catch (err) {
    say(`bench:scale: ${(err as Error).stack ?? String(err)}`);
    await own.close();
    return 1;
  }
}

/** This process as the bot: a main-menu worker on a queue of its own and a game client. */
async function botSide({ stack, redis, beforeStop }: OwnStack) {
  const connection = await NativeConnection.connect({ address: stack.temporal.address });
  beforeStop(() => connection.close());
  const dataConverter = farmflowDataConverter(join(stack.dir, 'shared'));
  const client = new Client({ connection, namespace: 'default', dataConverter });
  const earlyAnswers = createEarlyAnswers();
  const taskQueue = `${stack.name}-bench-main-menu`;
  const worker = await createWorker({
    connection,
    dataConverter,
    namespace: 'default',
    taskQueue,
    workflowBundle: { codePath: PREBUILT_BUNDLE_PATH },
    activities: createMainMenuActivities({
      earlyAnswers,
      client,
      redis,
      keyPrefix: stack.redisKeyPrefix,
      timeScale: 1,
      gameTaskQueue: TASK_QUEUES.game,
    }),
  });
  const running = runWorker(worker);
  beforeStop(running.stop);
  const game = createGameClient({
    client,
    userHashSecret: stack.userHashSecret,
    taskQueue,
    earlyAnswers,
  });
  return { client, game };
}

const playerOf = (i: number): Player => ({
  telegramUserId: FIRST_USER_ID + i,
  chatId: FIRST_USER_ID + i,
});

/** Farms `from`..`to`-1, started as a registered farm continues as new (no activity at start). */
async function startFarms(stack: Stack, client: Client, from: number, to: number) {
  const limit = pLimit(32);
  await Promise.all(
    Array.from({ length: to - from }, (_, k) =>
      limit(async () => {
        const player = playerOf(from + k);
        const userHash = deriveUserHash(player.telegramUserId, stack.userHashSecret);
        const joinedAtMs = Date.now();
        const carried: FarmCarriedState = {
          farm: newFarm(joinedAtMs, 1),
          readyCrops: [],
          appliedGrants: {},
          recentActions: {},
          registered: true,
          profile: { displayName: null, xpReachedAtMs: joinedAtMs, reachable: true },
          log: [],
          notices: {},
        };
        await client.workflow.start(WORKFLOW_TYPES.gameFarm, {
          workflowId: farmWorkflowId(userHash),
          taskQueue: TASK_QUEUES.game,
          args: [
            {
              userHash,
              sealedChatId: encryptChatId(player.chatId, stack.userHashSecret),
              timeScale: 1,
              carried,
            },
          ],
        });
      }),
    ),
  );
}

/** Until each of `farms` new farms has run its first workflow task on the stack's worker. */
async function waitForFarms(
  stack: Stack,
  ranBefore: number,
  farms: number,
  say: (line: string) => void,
) {
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    const ran = (await farmTasksRun(stack)) - ranBefore;
    if (ran >= farms) return;
    if (Date.now() > deadline)
      throw new Error(`only ${ran} of ${farms} farms ran within 30 minutes`);
    say(`  ${ran} of ${farms} new farms have run`);
    await sleep(5_000);
  }
}

/** `count` farms spread over the first `size`: the cold pass touches each once. */
function sampleOf(size: number, count: number): Player[] {
  const n = Math.min(size, count);
  return Array.from({ length: n }, (_, i) => playerOf(Math.floor((i * size) / n)));
}

let messages = 0;

/** `count` messages to each farm, 8 farms at a time: a history like a player's for a while. */
async function playHistory(game: GameClient, players: Player[], count: number) {
  const limit = pLimit(8);
  await Promise.all(
    players.map((player) =>
      limit(async () => {
        for (let i = 0; i < count; i++) await messagePass(game, [player], i % 2 === 0);
      }),
    ),
  );
}

/** One message to each farm in turn (concurrency 1): a preference change, always applied. */
async function messagePass(game: GameClient, players: Player[], notifications: boolean) {
  const latencies: number[] = [];
  for (const player of players) {
    messages += 1;
    const started = performance.now();
    const { screen } = await game.handleIntent(
      player,
      { type: 'message', action: { type: 'setPreferences', notifications } },
      `${FIRST_USER_ID}-${messages}-${randomBytes(4).toString('hex')}`,
    );
    latencies.push(performance.now() - started);
    if (screen.kind !== 'actionDone' && screen.kind !== 'actionRefused') {
      throw new Error(`a message answered ${screen.kind}`);
    }
  }
  return latencies;
}

function formatReport(
  results: SizeResult[],
  sample: number,
  history: number,
): { report: string; failed: boolean } {
  const ms = (value: number) => value.toFixed(1);
  const rows = [
    [
      'farms',
      'started in',
      'worker RSS MB',
      'after restart',
      'worker start',
      'cold p50',
      'p95',
      'warm p50',
      'p95',
      'cold misses',
      'replayed tasks',
      'warm misses',
      'task ms cold, warm',
    ],
  ];
  let failed = false;
  for (const r of results) {
    const cold = summarize(r.cold);
    const warm = summarize(r.warm);
    if (r.coldMisses < COLD_MISS_FLOOR * r.cold.length) failed = true;
    rows.push([
      String(r.farms),
      `${r.createSeconds.toFixed(0)} s`,
      r.rssMb.toFixed(0),
      r.idleRssMb.toFixed(0),
      `${(r.workerStartMs / 1000).toFixed(1)} s`,
      ms(cold.p50),
      ms(cold.p95),
      ms(warm.p50),
      ms(warm.p95),
      `${r.coldMisses}/${r.cold.length}`,
      String(r.coldReplays),
      `${r.warmMisses}/${r.warm.length}`,
      `${r.coldTaskMs.toFixed(0)}, ${r.warmTaskMs.toFixed(0)}`,
    ]);
  }
  const largest = results.at(-1)!;
  const ratio = summarize(largest.cold).p50 / summarize(largest.warm).p50;
  const lines = [
    '',
    `farmflow bench:scale — a stack of its own: Temporal server on PostgreSQL (4 history shards), the worker in a process of its own; Node ${process.version}`,
    `Latency in ms of one MainMenuMessage (a preference change: the farm's update), concurrency 1, ${sample} farms per pass, each with ${history} messages in its history.`,
    "cold: the farm's first message after a worker restart (its history is replayed); warm: the next one.",
    "task ms: the worker's time in the farm's workflow tasks per message (temporal_workflow_task_execution_latency).",
    '',
    formatTable(rows),
    '',
    failed
      ? `FAILED: fewer than ${COLD_MISS_FLOOR * 100}% of a cold pass's messages missed the cache`
      : `every cold pass missed the cache on at least ${COLD_MISS_FLOOR * 100}% of its messages`,
    `worker RSS MB at ${largest.farms} farms: ${largest.rssMb.toFixed(0)}`,
    `ratio cold-cache p50 / warm-cache p50: ${ratio.toFixed(2)}`,
    '',
  ];
  return { report: lines.join('\n'), failed };
}

const parsed = parseArgs();
if (typeof parsed === 'number') process.exit(parsed);
main(parsed).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:scale: ${String(err)}\n`);
    process.exit(1);
  },
);
