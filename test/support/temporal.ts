/**
 * Per-test-file access to the run's shared dev server: connections, a client, and workers on a
 * task queue of the file's own so files running in parallel never take each other's tasks.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { createLogger, type Logger } from '../../infra/logging';
import { installTemporalRuntime } from '../../worker/runtime';
import { createWorker, runWorker } from '../../worker/create-worker';
import { type DevServer, freePort, startDevServer } from '../../dev/temporal/server';
import { farmflowDataConverter } from '../../store/payload-files';
import type { DataConverter } from '@temporalio/common';

export interface TestTemporal {
  address: string;
  namespace: string;
  taskQueue: string;
  nativeConnection: NativeConnection;
  client: Client;
  /** As every process has it: large payloads by reference, in the run's shared files directory. */
  dataConverter: DataConverter;
  sharedFilesDir: string;
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
  const sharedFilesDir = inject('sharedFilesDir');
  const dataConverter = farmflowDataConverter(sharedFilesDir);
  const client = new Client({ connection, namespace, dataConverter });
  const workers = new Set<RunningWorker>();

  return {
    address,
    namespace,
    taskQueue,
    nativeConnection,
    client,
    dataConverter,
    sharedFilesDir,
    async startWorker(activities, queue = taskQueue) {
      const worker = await createWorker({
        connection: nativeConnection,
        dataConverter,
        namespace,
        taskQueue: queue,
        workflowBundle: { codePath: inject('workflowBundlePath') },
        activities,
      });
      const run = runWorker(worker);
      const running: RunningWorker = {
        worker,
        async stop() {
          workers.delete(running);
          await run.stop();
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

export interface OwnDevServer {
  /** The address it listens on, the same after every restart. */
  address: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops it and deletes its SQLite file and log. */
  remove(): Promise<void>;
}

/**
 * A dev server of a test file's own, for tests that stop and restart Temporal: on a port of its
 * own and a SQLite file (so its data survives a restart) in a temp folder, while the run's shared
 * server stays up.
 */
export async function ownDevServer(): Promise<OwnDevServer> {
  const dir = mkdtempSync(join(tmpdir(), 'farmflow-own-temporal-'));
  const port = await freePort();
  let server: DevServer | undefined;
  const stop = async () => {
    await server?.stop();
    server = undefined;
  };
  return {
    address: `127.0.0.1:${port}`,
    async start() {
      server = await startDevServer({
        cliPath: inject('temporalCliPath'),
        port,
        uiPort: null,
        dbFile: join(dir, 'temporal.sqlite'),
        logFile: join(dir, 'temporal.log'),
      });
    },
    stop,
    async remove() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
