/**
 * A game worker in a process of its own, for tests that kill it with SIGKILL mid-run: farms,
 * scheduled workflows and batches with their activities, on the test's task queue and Redis
 * prefix (from the environment). It prints "ready" on stderr once it polls.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createGameActivities } from '../../activities/game';
import { createLogger } from '../../infra/logging';
import { farmflowDataConverter } from '../../store/payload-files';
import { connectRedis } from '../../store/redis';
import { createWorker, runWorker } from '../../worker/create-worker';
import { installTemporalRuntime } from '../../worker/runtime';

async function main() {
  const env = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  // On stderr, which the test reads (its stdout is ignored).
  const logger = createLogger(process.env.LOG_LEVEL === 'debug' ? 'warn' : 'error', process.stderr);
  // A test gives the SDK's metrics buffer a size it overflows at once (metrics-overflow.test.ts).
  const metricsBufferSize = Number(process.env.TEST_METRICS_BUFFER_SIZE) || undefined;
  installTemporalRuntime(logger, metricsBufferSize);
  const address = env('TEMPORAL_ADDRESS');
  const taskQueue = env('TEST_TASK_QUEUE');
  const redis = await connectRedis(env('REDIS_URL'), logger);
  const dataConverter = farmflowDataConverter(env('SHARED_FILES_DIR'));
  const client = new Client({ connection: await Connection.connect({ address }), dataConverter });
  const worker = await createWorker({
    connection: await NativeConnection.connect({ address }),
    dataConverter,
    namespace: 'default',
    taskQueue,
    workflowBundle: { codePath: env('TEST_WORKFLOW_BUNDLE') },
    activities: createGameActivities({
      redis,
      keyPrefix: env('TEST_KEY_PREFIX'),
      userHashSecret: env('USER_HASH_SECRET'),
      client,
      gameTaskQueue: taskQueue,
    }),
  });
  runWorker(worker);
  process.stderr.write('ready\n');
}

void main();
