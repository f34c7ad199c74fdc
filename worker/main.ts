/**
 * `npm run start:worker`: the production worker process (farms, the scheduled workflows, the
 * Redis backfill, their activities). It starts the backfill by itself when Redis's copy of the
 * players is not marked whole (worker/redis-copy-watch.ts).
 */
import { getHeapStatistics } from 'node:v8';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createGameActivities } from '../activities/game';
import { TASK_QUEUES } from '../workflows/contract';
import { ENTRY_POINTS, loadConfig } from '../infra/config';
import { createShutdown } from '../infra/shutdown';
import { installTracing } from '../infra/tracing';
import { createLogger, logSecrets } from '../infra/logging';
import { installTemporalRuntime } from './runtime';
import { connectGuardedRedis } from '../store/secret-fingerprint';
import { createWorker, runWorker } from './create-worker';
import { checkSharedFilesDir, farmflowDataConverter } from '../store/payload-files';
import { loadWorkflowBundle } from './bundle';
import { watchRedisCopy } from './redis-copy-watch';
import { startWorkerHttp } from './http';

async function main() {
  const config = loadConfig(ENTRY_POINTS.worker);
  const logger = createLogger(config.logLevel, undefined, logSecrets(config)).child({
    process: 'worker',
  });
  installTemporalRuntime(logger);
  const shutdown = createShutdown(logger);
  // Steps run last-added first: the spans are flushed once everything else stopped.
  shutdown.add(
    'traces',
    installTracing(logger, 'farmflow-worker', { endpoint: config.otlpEndpoint }),
  );
  // ENTRY_POINTS.worker requires it: loadConfig has exited 2 naming it otherwise.
  const address = config.temporal.address!;
  try {
    const redis = await connectGuardedRedis({ config, role: 'worker', logger, shutdown });
    const connection = await NativeConnection.connect({ address });
    shutdown.add('temporal connection', () => connection.close());
    await checkSharedFilesDir(config.sharedFilesDir);
    logger.info({ sharedFilesDir: config.sharedFilesDir }, 'shared files (payloads by reference)');
    const dataConverter = farmflowDataConverter(config.sharedFilesDir);
    const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter });
    const worker = await createWorker({
      connection,
      dataConverter,
      namespace: config.temporal.namespace,
      taskQueue: TASK_QUEUES.game,
      maxCachedWorkflows: config.workerMaxCachedWorkflows,
      workflowBundle: await loadWorkflowBundle(logger),
      activities: createGameActivities({
        redis,
        keyPrefix: config.redis.keyPrefix,
        userHashSecret: config.userHashSecret,
        client,
        gameTaskQueue: TASK_QUEUES.game,
        logger,
      }),
    });
    logger.info(
      {
        maxCachedWorkflows: worker.options.maxCachedWorkflows,
        heapLimitMb: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20),
      },
      config.workerMaxCachedWorkflows === undefined
        ? "sticky cache: the SDK's default for this heap (WORKER_MAX_CACHED_WORKFLOWS sets it)"
        : 'sticky cache: WORKER_MAX_CACHED_WORKFLOWS',
    );
    const { host, port } = config.workerMetrics;
    if (port === undefined) {
      logger.info('metrics and probes off: WORKER_METRICS_PORT is not set');
    } else {
      // Before the worker runs (not ready until it does), so that nothing the worker does waits
      // on this start.
      const http = await startWorkerHttp({ host, port, logger, worker, connection });
      shutdown.add('metrics and probes listener', () => http.app.close());
      logger.info({ url: http.url }, 'metrics and probes listening');
    }
    // Steps run last-added first: the worker drains before the listener closes, so probes see it.
    const { done, stop } = runWorker(worker);
    shutdown.add('worker', stop);
    logger.info({ taskQueue: TASK_QUEUES.game }, 'worker process ready');
    const watch = watchRedisCopy({
      client,
      redis,
      keyPrefix: config.redis.keyPrefix,
      gameTaskQueue: TASK_QUEUES.game,
      logger,
    });
    shutdown.add("Redis copy's watch", watch.stop);
    await done;
  } catch (err) {
    logger.fatal({ err }, 'worker failed');
    await shutdown.run(1);
  }
}

void main();
