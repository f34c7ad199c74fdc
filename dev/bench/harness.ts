/**
 * The whole game in one process for a benchmark, wired like the tests and `npm start`: a tuned
 * in-memory dev server (unless TEMPORAL_ADDRESS is set), one NativeConnection, a game worker, a
 * main-menu worker whose Client shares the connection (so per-message workflows start eagerly),
 * and a worker for the baseline workflows. Task queues, the UserHash secret and the Redis key
 * prefix are the run's own, so benchmark players never meet real ones.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createFarmActivities } from '../../activities/farm';
import { createMainMenuActivities } from '../../activities/main-menu';
import { createGameClient, type GameClient } from '../../bot/game-client';
import { createEarlyAnswers } from '../../activities/early-answers';
import type { Config } from '../../infra/config';
import type { Shutdown } from '../../infra/shutdown';
import type { Logger } from '../../infra/logging';
import { connectRedis, deleteKeysWithPrefix, type RedisClient } from '../../store/redis';
import { ensureTemporalCli } from '../temporal/cli';
import { startDevServer } from '../temporal/server';
import { createWorker, runWorker } from '../../worker/create-worker';
import { farmflowDataConverter } from '../../store/payload-files';
import { bundleWorkflows } from '../../worker/bundle';
import { createBaselineActivities } from './activities';
import { childListeningOn } from './cpu';

const BENCH_WORKFLOWS_PATH = join(__dirname, 'workflows.ts');

export type MainMenuActivities = ReturnType<typeof createMainMenuActivities>;

export interface BenchGameOptions {
  config: Config;
  logger: Logger;
  shutdown: Shutdown;
  say: (line: string) => void;
  /** Fixed into every farm the benchmark creates. */
  timeScale: number;
  /** Wraps the main-menu activities, e.g. to time them. */
  wrapMainMenuActivities?: (activities: MainMenuActivities) => MainMenuActivities;
}

export interface BenchGame {
  /** Where the server is and what it is, for the report. */
  server: string;
  namespace: string;
  redis: RedisClient;
  keyPrefix: string;
  userHashSecret: string;
  /** On the workers' NativeConnection: starts eagerly on any of the run's task queues. */
  eagerClient: Client;
  /** On a connection of its own, as a process without a worker would have. */
  plainClient: Client;
  game: GameClient;
  baselineTaskQueue: string;
  /** Where farms (and every workflow but the per-message ones) run. */
  gameTaskQueue: string;
  /** The workers' connection, for a worker of the bench's own. */
  connection: NativeConnection;
  dataConverter: DataConverter;
}

export interface BenchTemporalOptions {
  config: Config;
  shutdown: Shutdown;
  say: (line: string) => void;
}

export interface BenchTemporal {
  address: string;
  /** Where the server is and what it is, for the report. */
  server: string;
  /** The dev server this run started (for its CPU time); undefined on TEMPORAL_ADDRESS's. */
  devServerPid?: number;
}

/** TEMPORAL_ADDRESS's server, or a tuned in-memory dev server of the run's own. */
export async function startBenchTemporal(options: BenchTemporalOptions): Promise<BenchTemporal> {
  const { config, shutdown, say } = options;
  const configured = config.temporal.address;
  if (configured) return { address: configured, server: `TEMPORAL_ADDRESS=${configured}` };
  const cliPath = await ensureTemporalCli({ configuredPath: config.temporal.cliPath, say });
  const dir = mkdtempSync(join(tmpdir(), 'farmflow-bench-'));
  const dev = await startDevServer({
    cliPath,
    port: 0,
    uiPort: null,
    logFile: join(dir, 'temporal.log'),
    namespace: config.temporal.namespace,
  });
  // Only now: when the server fails to start, its log stays for the error message to point at.
  shutdown.add('temporary folder', async () => rmSync(dir, { recursive: true, force: true }));
  shutdown.add('temporal dev server', () => dev.stop());
  return {
    address: dev.address,
    server: `tuned in-memory dev server at ${dev.address}`,
    devServerPid: childListeningOn(dev.address),
  };
}

/** Redis for a run: every key the run made under `keyPrefix` is deleted at shutdown. */
export async function connectBenchRedis(
  config: Config,
  logger: Logger,
  shutdown: Shutdown,
  keyPrefix: string,
): Promise<RedisClient> {
  const redis = await connectRedis(config.redis.url, logger);
  shutdown.add('redis', () => redis.close());
  shutdown.add('benchmark redis keys', () => deleteKeysWithPrefix(redis, keyPrefix));
  return redis;
}

export async function startBenchGame(options: BenchGameOptions): Promise<BenchGame> {
  const { config, logger, shutdown, say } = options;
  const run = randomUUID().slice(0, 8);
  const namespace = config.temporal.namespace;

  const bundling = bundleWorkflows(logger, BENCH_WORKFLOWS_PATH);
  const { address, server } = await startBenchTemporal({ config, shutdown, say });
  const workflowBundle = await bundling;

  const keyPrefix = `farmflow-bench:${run}:`;
  const redis = await connectBenchRedis(config, logger, shutdown, keyPrefix);

  const connection = await NativeConnection.connect({ address });
  shutdown.add('temporal connection', () => connection.close());
  const plainConnection = await Connection.connect({ address });
  shutdown.add('plain temporal connection', () => plainConnection.close());
  const dataConverter = farmflowDataConverter(config.sharedFilesDir);
  const eagerClient = new Client({ connection, namespace, dataConverter });
  const plainClient = new Client({ connection: plainConnection, namespace, dataConverter });

  const userHashSecret = `farmflow-bench-${randomUUID()}`;
  const queues = {
    game: `farmflow-bench-${run}-game`,
    mainMenu: `farmflow-bench-${run}-main-menu`,
    baseline: `farmflow-bench-${run}-baseline`,
  };
  // As in the bot process: screens go from the local activity straight to the waiting caller.
  const earlyAnswers = createEarlyAnswers();
  const mainMenuActivities = createMainMenuActivities({
    earlyAnswers,
    client: eagerClient,
    redis,
    keyPrefix,
    timeScale: options.timeScale,
    gameTaskQueue: queues.game,
  });
  const workers = await Promise.all(
    [
      {
        taskQueue: queues.game,
        activities: createFarmActivities({ redis, keyPrefix, userHashSecret }),
      },
      {
        taskQueue: queues.mainMenu,
        activities: options.wrapMainMenuActivities?.(mainMenuActivities) ?? mainMenuActivities,
      },
      { taskQueue: queues.baseline, activities: createBaselineActivities() },
    ].map(({ taskQueue, activities }) =>
      createWorker({ connection, dataConverter, namespace, taskQueue, workflowBundle, activities }),
    ),
  );
  for (const worker of workers) runUntilShutdown(worker, shutdown);

  return {
    server,
    namespace,
    redis,
    keyPrefix,
    userHashSecret,
    eagerClient,
    plainClient,
    game: createGameClient({
      client: eagerClient,
      userHashSecret,
      taskQueue: queues.mainMenu,
      earlyAnswers,
    }),
    baselineTaskQueue: queues.baseline,
    gameTaskQueue: queues.game,
    connection,
    dataConverter,
  };
}

export function runUntilShutdown(worker: Worker, shutdown: Shutdown) {
  const { done, stop } = runWorker(worker);
  shutdown.add(`worker ${worker.options.taskQueue}`, stop);
  done.catch((err: unknown) => {
    process.stderr.write(`bench: worker ${worker.options.taskQueue} failed: ${String(err)}\n`);
    void shutdown.run(1);
  });
}
