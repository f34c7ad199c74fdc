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
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import pLimit from 'p-limit';
import { createFarmActivities } from '../../activities/farm';
import { chatIdKeyring, encryptChatId, userHash } from '../../infra/identity';
import { createPlayerRegistry } from '../../store/players';
import { createRebuildMarker } from '../../store/rebuild-marker';
import {
  farmWorkflowId,
  type GameFarmWorkflowSignature,
  getFarmLogQuery,
  type GrantRewardInput,
  grantRewardSignal,
  USER_HASH_SEARCH_ATTRIBUTE,
  WORKFLOW_TYPES,
} from '../../workflows/contract';
import { bundleWorkflows } from '../../worker/bundle';
import { createWorker } from '../../worker/create-worker';
import { type CpuSpent, cpuBetween, readCpu } from './cpu';
import { connectBenchRedis, runUntilShutdown, startBenchTemporal } from './harness';
import { formatTable } from './measure';
import { type BenchOutcome, type BenchRun, runBench } from './run';

/** The population; `-- --farms <n>` takes a smaller one for a quick look (not the figures). */
const FARMS = 10_000;
/** Farm starts in flight while the population is created (not measured). */
const CREATE_CONCURRENCY = 64;
/** The baseline's raw signals in flight, as the issue sets it. */
const SIGNALS_IN_FLIGHT = 32;
/** Queries in flight while reading the farms' records after a phase. */
const READ_CONCURRENCY = 32;
/** Every wait has a bound. */
const POPULATION_TIMEOUT_MS = 300_000;
const GRANTS_TIMEOUT_MS = 300_000;
const GRANT = { coins: 100, xp: 0, reason: 'benchmark reward' } as const;
const REWARD_MESSAGE = 'Thanks for playing: 100 coins are yours.';

interface Farm {
  userId: number;
  userHash: string;
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
  const client = new Client({ connection, namespace });

  const userHashSecret = `farmflow-bench-${randomUUID()}`;
  const queues = {
    game: `farmflow-bench-batch-${run}-game`,
    notifications: `farmflow-bench-batch-${run}-notifications`,
  };
  const gameWorker = await createWorker({
    connection,
    namespace,
    taskQueue: queues.game,
    workflowBundle,
    activities: createFarmActivities({ redis, keyPrefix, userHashSecret }),
  });
  runUntilShutdown(gameWorker, shutdown);
  const pids = { server: temporal.devServerPid };
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
  say(
    `bench: ${population} farms created and registered in ${((performance.now() - createStarted) / 1000).toFixed(1)} s`,
  );

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
   * farm's clock when it applied it). Farms that have not applied it yet are asked again until the
   * bound; the queries run after the sends, so they do not load the server while it is measured.
   */
  const appliedTimes = async (batchId: string): Promise<number[]> => {
    const reading = pLimit(READ_CONCURRENCY);
    const deadline = Date.now() + GRANTS_TIMEOUT_MS;
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
        fail(`${batchId}: farms without the grant after ${GRANTS_TIMEOUT_MS / 1000} s`, pending.length);
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

  const rows = [raw];
  return {
    report: formatReport(temporal.server, namespace, rows, failures),
    failed: failures.size > 0,
  };
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2_000);
  }
}

function formatReport(
  server: string,
  namespace: string,
  rows: Measured[],
  failures: Map<string, number>,
): string {
  const seconds = (m: Measured) => (m.lastAppliedMs - m.firstSendMs) / 1000;
  const rate = (m: Measured) => m.grants / seconds(m);
  const lines = [
    '',
    `farmflow bench:batch — ${server}, namespace ${namespace}`,
    `Node ${process.version}, ${availableParallelism()} cores.`,
    '',
    formatTable([
      ['', 'grants', 'seconds', 'grants/s'],
      ...rows.map((m) => [m.label, String(m.grants), seconds(m).toFixed(1), rate(m).toFixed(0)]),
    ]),
    '',
    failures.size === 0
      ? 'failures: none'
      : `failures:\n${[...failures].map(([what, n]) => `  ${n} × ${what}`).join('\n')}`,
  ];
  return `${lines.join('\n')}\n`;
}

runBench(main);
