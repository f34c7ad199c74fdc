/**
 * `npm run bench:batch`: what a reward batch costs, and how fast notifications go out.
 *
 * Phase 1, 10,000 idle farms: the baseline, raw grant signals 32 in flight, then the reward batch
 * (PlayerBatchWorkflow) over the same farms; both measured the same way, from the first send until
 * the last farm applied its grant (the farm's own record of the grant says when).
 * Phase 2: the reward messages those grants queued are delivered through the local Bot API server
 * (Telegram's limits on) by the notifications worker at the configured rate; the measured rate is
 * (n − 1) / (last delivery − first delivery) over the first 2,000 players' deliveries.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import pLimit from 'p-limit';
import { createGameActivities } from '../../activities/game';
import { chatIdKeyring, encryptChatId, userHash } from '../../infra/identity';
import { createPlayerRegistry } from '../../store/players';
import { createRebuildMarker } from '../../store/rebuild-marker';
import {
  batchWorkflowId,
  farmWorkflowId,
  type GameFarmWorkflowSignature,
  getFarmLogQuery,
  type GrantRewardInput,
  grantRewardSignal,
  hasGrantQuery,
  type PlayerBatchInput,
  type PlayerBatchResult,
  USER_HASH_SEARCH_ATTRIBUTE,
  WORKFLOW_TYPES,
} from '../../workflows/contract';
import { startNotificationsWorker } from '../../bot/notifications-worker';
import { bundleWorkflows } from '../../worker/bundle';
import { DEFAULT_BATCH_PAGE_SIZE, DEFAULT_BATCH_PARALLELISM } from '../../workflows/player-batch';
import { createWorker } from '../../worker/create-worker';
import { farmflowDataConverter } from '../../store/payload-files';
import { type CpuSpent, cpuBetween, readCpu } from './cpu';
import { connectBenchRedis, runUntilShutdown, startBenchTemporal } from './harness';
import { formatTable } from './measure';
import { type BenchOutcome, type BenchRun, runBench } from './run';
import type { TelegramReply, TelegramRequest, TelegramSummary } from './batch-telegram';
import { BENCH_BOT_TOKEN } from './bot-script';
import type { Shutdown } from '../../infra/shutdown';

/** The population; `-- --farms <n>` takes a smaller one for a quick look (not the figures). */
const FARMS = 10_000;
/** Farm starts in flight while the population is created (not measured). */
const CREATE_CONCURRENCY = 64;
/** The baseline's raw signals in flight, as the issue sets it. */
const SIGNALS_IN_FLIGHT = 32;
/** Queries in flight while reading the farms' records after a phase. */
const READ_CONCURRENCY = 32;
/** Farms sent to last, polled until they show the grant before every farm's record is read. */
const LAST_SENT_POLLED = 4;
/** Every wait has a bound. */
const POPULATION_TIMEOUT_MS = 1_800_000;
const GRANTS_TIMEOUT_MS = 600_000;
/** Players whose notifications phase 2 measures. */
const NOTIFIED_PLAYERS = 2_000;
/** The issue's floor for the configured notification rate. */
const MIN_NOTIFICATIONS_PER_SECOND = 20;
/** Bound on phase 2: the deliveries at the configured rate, with a wide margin. */
const deliveryTimeoutMs = (n: number, perSecond: number) => (n / perSecond) * 3_000 + 60_000;
const BATCH_TIMEOUT_MS = 1_800_000;
const GRANT = { coins: 100, xp: 0, reason: 'benchmark reward' } as const;
const REWARD_MESSAGE = 'Thanks for playing: 100 coins are yours.';

interface Farm {
  userId: number;
  userHash: string;
}

interface Delivered {
  configuredPerSecond: number;
  /** Messages counted: the first NOTIFIED_PLAYERS Telegram accepted. */
  deliveries: number;
  /** Distinct chats among them. */
  chats: number;
  firstMs: number;
  lastMs: number;
  /** Every 429 the local Bot API server answered during phase 2. */
  tooManyRequests: number;
  cpu: CpuSpent;
}

interface Measured {
  label: string;
  grants: number;
  firstSendMs: number;
  lastAppliedMs: number;
  cpu: CpuSpent;
}

async function main({ config, logger, shutdown, say }: BenchRun): Promise<BenchOutcome> {
  const { values: flags } = parseArgs({ options: { farms: { type: 'string' } } });
  const population = flags.farms === undefined ? FARMS : Number(flags.farms);
  if (!Number.isSafeInteger(population) || population < 1) {
    throw new Error(`--farms must be a whole number of at least 1 (got ${flags.farms})`);
  }
  const run = randomUUID().slice(0, 8);
  const bundling = bundleWorkflows(logger);
  const temporal = await startBenchTemporal({ config, shutdown, say });
  const workflowBundle = await bundling;
  const keyPrefix = `farmflow-bench-batch:${run}:`;
  const redis = await connectBenchRedis(config, logger, shutdown, keyPrefix);
  const connection = await NativeConnection.connect({ address: temporal.address });
  shutdown.add('temporal connection', () => connection.close());
  const namespace = config.temporal.namespace;
  const dataConverter = farmflowDataConverter(config.sharedFilesDir);
  const client = new Client({ connection, namespace, dataConverter });

  const userHashSecret = `farmflow-bench-${randomUUID()}`;
  const queues = {
    game: `farmflow-bench-batch-${run}-game`,
    notifications: `farmflow-bench-batch-${run}-notifications`,
  };
  const gameWorker = await createWorker({
    connection,
    dataConverter,
    namespace,
    taskQueue: queues.game,
    workflowBundle,
    // As the worker process wires them: the batch's activities signal and query the farms through
    // a Client on the worker's own connection.
    activities: createGameActivities({
      redis,
      keyPrefix,
      userHashSecret,
      client,
      gameTaskQueue: queues.game,
      logger,
    }),
  });
  runUntilShutdown(gameWorker, shutdown);
  const pids: Record<string, number | undefined> = { server: temporal.devServerPid };
  const failures = new Map<string, number>();
  const fail = (what: string, n = 1) => failures.set(what, (failures.get(what) ?? 0) + n);

  // ------------------------------------------------------------ the population
  const firstUserId = 1_000_000_000 + Math.floor(Math.random() * 1e9);
  const keyring = chatIdKeyring(userHashSecret);
  const farms: Farm[] = Array.from({ length: population }, (_, i) => ({
    userId: firstUserId + i,
    userHash: userHash(firstUserId + i, userHashSecret),
  }));
  say(`bench: ${temporal.server}; creating ${population} farms…`);
  const createStarted = performance.now();
  const starting = pLimit(CREATE_CONCURRENCY);
  await Promise.all(
    farms.map((farm, i) =>
      starting(() =>
        client.workflow.start<GameFarmWorkflowSignature>(WORKFLOW_TYPES.gameFarm, {
          workflowId: farmWorkflowId(farm.userHash),
          taskQueue: queues.game,
          args: [
            {
              userHash: farm.userHash,
              sealedChatId: encryptChatId(farm.userId, keyring),
              timeScale: 1,
              displayName: `Farmer ${i}`,
              notificationsTaskQueue: queues.notifications,
            },
          ],
          typedSearchAttributes: [{ key: USER_HASH_SEARCH_ATTRIBUTE, value: farm.userHash }],
        }),
      ),
    ),
  );
  // Each farm registers itself (its registerPlayer activity): the batch's population.
  const registry = createPlayerRegistry(redis, keyPrefix);
  say(`bench: ${population} farms started; waiting for them to register…`);
  await waitFor('every farm in the registry', POPULATION_TIMEOUT_MS, async () => {
    const registered = await registry.count();
    if (registered < population) say(`bench: ${registered} registered`);
    return registered >= population;
  });
  // As a backfill would when done: the registry is whole, the batch need not wait for one.
  const marker = createRebuildMarker(redis, keyPrefix);
  if (!(await marker.finish(await marker.begin(), new Date()))) {
    throw new Error('the rebuild marker was not set: did something delete the prefix’s keys?');
  }
  const setup = `${population} idle farms created and registered in ${((performance.now() - createStarted) / 1000).toFixed(0)} s (not measured)`;
  say(`bench: ${setup}`);

  /** The grant as both the baseline and the batch send it. */
  const grantFor = (batchId: string, farm: Farm, issuedAtMs: number): GrantRewardInput => ({
    grantId: `${batchId}:${farm.userHash}`,
    issuedAtMs,
    ...GRANT,
    batchId,
    message: REWARD_MESSAGE,
  });

  /**
   * When each farm applied `batchId`'s grant, from its record (the grant's log line carries the
   * farm's clock when it applied it). The server accepts signals faster than the farms apply them,
   * so first the farms sent to last are polled (hasGrantQuery, a few in flight, once a second)
   * until they show it; only then is every farm's record read, so that the reads do not load the
   * server while the grants are still being applied. Farms that do not show it yet are asked
   * again until the bound.
   */
  const appliedTimes = async (batchId: string): Promise<number[]> => {
    const deadline = Date.now() + GRANTS_TIMEOUT_MS;
    const last = farms.slice(-LAST_SENT_POLLED);
    await waitFor(
      `the last farms to show ${batchId}'s grant`,
      GRANTS_TIMEOUT_MS,
      async () => {
        // A query waits behind the farm's pending workflow task, and the server gives up on it
        // while the worker still works through the backlog: not yet.
        const shows = await Promise.all(
          last.map((farm) =>
            client.workflow
              .getHandle(farmWorkflowId(farm.userHash))
              .query(hasGrantQuery, `${batchId}:${farm.userHash}`)
              .catch(() => false),
          ),
        );
        return shows.every(Boolean);
      },
      1_000,
    );
    const reading = pLimit(READ_CONCURRENCY);
    let pending = farms;
    const times: number[] = [];
    while (pending.length > 0) {
      const missing: Farm[] = [];
      await Promise.all(
        pending.map((farm) =>
          reading(async () => {
            const log = await client.workflow
              .getHandle(farmWorkflowId(farm.userHash))
              .query(getFarmLogQuery);
            const grantId = `${batchId}:${farm.userHash}`;
            const entry = log.find((e) => e.kind === 'grant' && e.grantId === grantId);
            if (entry) times.push(entry.atMs);
            else missing.push(farm);
          }),
        ),
      );
      pending = missing;
      if (pending.length === 0) break;
      if (Date.now() > deadline) {
        fail(
          `${batchId}: farms without the grant after ${GRANTS_TIMEOUT_MS / 1000} s`,
          pending.length,
        );
        break;
      }
      await sleep(500);
    }
    return times;
  };

  const measureGrants = async (
    label: string,
    batchId: string,
    send: () => Promise<number>,
  ): Promise<Measured> => {
    say(`bench: ${label}…`);
    const before = readCpu(pids);
    const firstSendMs = await send();
    const times = await appliedTimes(batchId);
    const cpu = cpuBetween(before, readCpu(pids));
    const lastAppliedMs = Math.max(...times);
    say(
      `bench: ${label}: ${times.length} grants in ${((lastAppliedMs - firstSendMs) / 1000).toFixed(1)} s`,
    );
    return { label, grants: times.length, firstSendMs, lastAppliedMs, cpu };
  };

  // ------------------------------------------------------------ baseline: raw signals
  const rawBatchId = `bench-raw-${run}`;
  const raw = await measureGrants('raw signals, 32 in flight', rawBatchId, async () => {
    const sending = pLimit(SIGNALS_IN_FLIGHT);
    const firstSendMs = Date.now();
    await Promise.all(
      farms.map((farm) =>
        sending(() =>
          client.workflow
            .getHandle(farmWorkflowId(farm.userHash))
            .signal(grantRewardSignal, grantFor(rawBatchId, farm, firstSendMs)),
        ),
      ),
    );
    return firstSendMs;
  });

  // ------------------------------------------------------------ the reward batch
  const rewardBatchId = `bench-batch-${run}`;
  let batchResult: PlayerBatchResult | undefined;
  const batch = await measureGrants(
    `reward batch (pages of ${DEFAULT_BATCH_PAGE_SIZE}, ${DEFAULT_BATCH_PARALLELISM} in flight)`,
    rewardBatchId,
    async () => {
      const input: PlayerBatchInput = {
        batchId: rewardBatchId,
        population: { kind: 'all' },
        payload: { kind: 'grant', ...GRANT, message: REWARD_MESSAGE },
        pageSize: DEFAULT_BATCH_PAGE_SIZE,
        parallelism: DEFAULT_BATCH_PARALLELISM,
      };
      // The first send is the batch's start as the operator sees it: everything the batch does
      // before its first signal (count, first page) is inside the measured time.
      const firstSendMs = Date.now();
      const handle = await client.workflow.start(WORKFLOW_TYPES.playerBatch, {
        workflowId: batchWorkflowId(rewardBatchId),
        taskQueue: queues.game,
        args: [input],
      });
      const timeout = new AbortController();
      try {
        batchResult = await Promise.race([
          handle.result() as Promise<PlayerBatchResult>,
          sleep(BATCH_TIMEOUT_MS, undefined, { signal: timeout.signal }).then(() => {
            throw new Error(`the reward batch did not finish within ${BATCH_TIMEOUT_MS / 1000} s`);
          }),
        ]);
      } finally {
        timeout.abort();
      }
      return firstSendMs;
    },
  );
  if (batchResult?.outcome !== 'done' || batchResult.done !== population) {
    fail(`reward batch ended ${batchResult?.outcome}: ${batchResult?.done} of ${population} done`);
  }

  // ------------------------------------------------------------ phase 2: notifications
  const notified = Math.min(NOTIFIED_PLAYERS, population);
  const perSecond = config.notificationsPerSecond;
  if (perSecond < MIN_NOTIFICATIONS_PER_SECOND) {
    throw new Error(
      `NOTIFICATIONS_PER_SECOND is ${perSecond}: this benchmark measures a rate of at least ${MIN_NOTIFICATIONS_PER_SECOND}/s`,
    );
  }
  say(
    `bench: delivering the queued reward messages at ${perSecond}/s until ${notified} players have theirs…`,
  );
  const telegram = await startTelegram(shutdown, pids);
  const before = readCpu(pids);
  const notifications = await startNotificationsWorker({
    connection,
    namespace,
    taskQueue: queues.notifications,
    dataConverter,
    token: BENCH_BOT_TOKEN,
    apiRoot: telegram.url,
    perSecond,
    redis,
    keyPrefix,
    userHashSecret,
    logger,
  });
  shutdown.add('notifications worker', () => notifications.stop());
  await waitFor(
    `${notified} deliveries`,
    deliveryTimeoutMs(notified, perSecond),
    async () => (await telegram.count()) >= notified,
    250,
  );
  const cpu = cpuBetween(before, readCpu(pids));
  await notifications.stop();
  const summary = await telegram.summary();
  for (const error of summary.errors) fail(`sendMessage answered ${error}`);
  const measured = summary.sent.slice(0, notified);
  const delivered: Delivered = {
    configuredPerSecond: perSecond,
    deliveries: measured.length,
    chats: new Set(measured.map((call) => call.chatId)).size,
    firstMs: measured[0]!.at,
    lastMs: measured.at(-1)!.at,
    tooManyRequests: summary.tooManyRequests,
    cpu,
  };

  const rows = [raw, batch];
  return {
    report: formatReport(temporal.server, namespace, setup, rows, delivered, failures),
    failed: failures.size > 0,
  };
}

interface Telegram {
  url: string;
  count(): Promise<number>;
  summary(): Promise<TelegramSummary>;
}

/** Forks bench:batch's Telegram (dev/bench/batch-telegram.ts) and waits for its server. */
async function startTelegram(shutdown: Shutdown, pids: Record<string, number | undefined>) {
  const child = fork(join(__dirname, 'batch-telegram.ts'), [], {
    // Its output goes to stderr with the logs: stdout carries the report alone.
    stdio: ['ignore', 2, 'inherit', 'ipc'],
  });
  pids.telegram = child.pid;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  /** One request at a time: each reply answers the oldest waiting request. */
  const waiting: ((reply: TelegramReply) => void)[] = [];
  let onExit: (error: Error) => void = () => undefined;
  const url = await new Promise<string>((resolve, reject) => {
    onExit = reject;
    child.on('message', (reply: TelegramReply) => {
      if (reply.type === 'ready') resolve(reply.url);
      else waiting.shift()?.(reply);
    });
    child.once('exit', (code, signal) =>
      onExit(new Error(`bench:batch's Telegram exited (${code ?? signal})`)),
    );
  });
  let queue = Promise.resolve<unknown>(undefined);
  const ask = (request: TelegramRequest) => {
    const answer = queue.then(
      () =>
        new Promise<TelegramReply>((resolve, reject) => {
          onExit = reject;
          waiting.push(resolve);
          child.send(request);
        }),
    );
    queue = answer.catch(() => undefined);
    return answer;
  };
  shutdown.add("bench:batch's Telegram", async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    await Promise.race([ask({ type: 'close' }), exited]);
    child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  });
  const telegram: Telegram = {
    url,
    count: async () => {
      const reply = await ask({ type: 'count' });
      return reply.type === 'count' ? reply.sent : Number.NaN;
    },
    summary: async () => {
      const reply = await ask({ type: 'summary' });
      if (reply.type !== 'summary')
        throw new Error(`bench:batch's Telegram answered ${reply.type}`);
      return { sent: reply.sent, tooManyRequests: reply.tooManyRequests, errors: reply.errors };
    },
  };
  return telegram;
}

async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  everyMs = 2_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** CPU seconds of this process and the server, and the share of the machine others took. */
function cpuLine(cpu: CpuSpent): string {
  const s = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(1));
  const busy = cpu.machineBusy === undefined ? '-' : `${Math.round(cpu.machineBusy * 100)}%`;
  return (
    `CPU s: this process ${s(cpu.self)}, Temporal ${s(cpu.processes.server)}, ` +
    `other programs ${s(cpu.others)}; machine busy ${busy}`
  );
}

function formatReport(
  server: string,
  namespace: string,
  setup: string,
  rows: Measured[],
  delivered: Delivered,
  failures: Map<string, number>,
): string {
  const seconds = (m: Measured) => (m.lastAppliedMs - m.firstSendMs) / 1000;
  const rate = (m: Measured) => m.grants / seconds(m);
  const [raw, batch] = rows as [Measured, Measured | undefined];
  const windowS = (delivered.lastMs - delivered.firstMs) / 1000;
  const deliveredPerSecond = (delivered.deliveries - 1) / windowS;
  const lines = [
    '',
    `farmflow bench:batch — ${server}, namespace ${namespace}`,
    `Node ${process.version}, ${availableParallelism()} cores. Grants: from the first send until ` +
      'the last farm applied its grant (the time in its record of the grant).',
    `Population: ${setup}; each grant carries a reward message, queued as a notification.`,
    "CPU: over each phase's sends and the reads of the farms' records after it.",
    '',
    formatTable([
      ['', 'grants', 'seconds', 'grants/s'],
      ...rows.map((m) => [m.label, String(m.grants), seconds(m).toFixed(1), rate(m).toFixed(1)]),
    ]),
    ...rows.map((m) => `${m.label}: ${cpuLine(m.cpu)}`),
    '',
    `notifications: ${delivered.deliveries} delivered to ${delivered.chats} players in ` +
      `${windowS.toFixed(1)} s (first to last delivery) = ${deliveredPerSecond.toFixed(2)}/s; ` +
      `configured ${delivered.configuredPerSecond}/s`,
    `notifications: ${cpuLine(delivered.cpu)}`,
    failures.size === 0
      ? 'failures: none'
      : `failures:\n${[...failures].map(([what, n]) => `  ${n} × ${what}`).join('\n')}`,
    `ratio reward-batch / raw signals: ${batch ? (rate(batch) / rate(raw)).toFixed(2) : '-'}`,
    `429 responses: ${delivered.tooManyRequests}`,
    `ratio notifications / configured rate: ${(deliveredPerSecond / delivered.configuredPerSecond).toFixed(3)}`,
  ];
  return `${lines.join('\n')}\n`;
}

runBench(main);
