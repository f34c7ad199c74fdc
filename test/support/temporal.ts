/**
 * Per-test-file access to the run's shared dev server: connections, a client, and workers on a
 * task queue of the file's own so files running in parallel never take each other's tasks.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { createLogger, type Logger } from '../../infra/logging';
import { installTemporalRuntime } from '../../worker/runtime';
import { createWorker } from '../../worker/create-worker';

export interface TestTemporal {
  address: string;
  namespace: string;
  taskQueue: string;
  nativeConnection: NativeConnection;
  client: Client;
  /** Starts a worker on the file's task queue (or `taskQueue`); stopped by `close()`. */
  startWorker(activities: object, taskQueue?: string): Promise<RunningWorker>;
  close(): Promise<void>;
}

export interface RunningWorker {
  worker: Worker;
  stop(): Promise<void>;
}

let runtimeInstalled = false;

/** The Runtime is per process; a test that inspects log lines installs it with its own logger first. */
export function installTestRuntime(logger: Logger = createLogger('error')) {
  if (runtimeInstalled) return;
  installTemporalRuntime(logger);
  runtimeInstalled = true;
}

/** `address`: another server than the run's shared one (a test that stops its server). */
export async function connectTestTemporal(
  address = inject('temporalAddress'),
): Promise<TestTemporal> {
  installTestRuntime();
  const namespace = 'default';
  const taskQueue = `test-${randomUUID()}`;
  const nativeConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  const workers = new Set<RunningWorker>();

  return {
    address,
    namespace,
    taskQueue,
    nativeConnection,
    client,
    async startWorker(activities, queue = taskQueue) {
      const worker = await createWorker({
        connection: nativeConnection,
        namespace,
        taskQueue: queue,
        workflowBundle: { codePath: inject('workflowBundlePath') },
        activities,
      });
      const done = worker.run();
      const running: RunningWorker = {
        worker,
        async stop() {
          workers.delete(running);
          if (worker.getState() === 'RUNNING') worker.shutdown();
          await done;
        },
      };
      workers.add(running);
      return running;
    },
    async close() {
      await Promise.all([...workers].map((w) => w.stop()));
      await connection.close();
      await nativeConnection.close();
    },
  };
}

export { Runtime };
