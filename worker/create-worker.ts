/**
 * A farmflow worker: the game queue (farms, their activities) runs in worker processes; the
 * main-menu queue (per-message workflows, local activities) runs in the process that starts them.
 */
import type { DataConverter } from '@temporalio/common';
import { type NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { activityLogInterceptors } from './runtime';
import { activityTracing } from '../infra/tracing';

export interface WorkerDeps {
  connection: NativeConnection;
  namespace: string;
  /** Absent: the worker runs activities only (the notifications queue). */
  workflowBundle?: WorkflowBundleOption;
  activities: object;
  taskQueue: string;
  /** Every worker's and client's: large payloads by reference (store/payload-files.ts). */
  dataConverter: DataConverter;
  /** Activities this worker runs at once (the SDK's default when absent). */
  maxConcurrentActivityTaskExecutions?: number;
  /** Workflow tasks this worker runs at once (the SDK's default when absent). */
  maxConcurrentWorkflowTaskExecutions?: number;
  /** Workflows kept in the sticky cache (the SDK's default, from the V8 heap limit, when absent). */
  maxCachedWorkflows?: number;
  /** The task queue's activity rate, enforced by the Temporal server across every worker. */
  maxTaskQueueActivitiesPerSecond?: number;
}

export function createWorker(deps: WorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    dataConverter: deps.dataConverter,
    maxConcurrentActivityTaskExecutions: deps.maxConcurrentActivityTaskExecutions,
    maxConcurrentWorkflowTaskExecutions: deps.maxConcurrentWorkflowTaskExecutions,
    maxTaskQueueActivitiesPerSecond: deps.maxTaskQueueActivitiesPerSecond,
    maxCachedWorkflows: deps.maxCachedWorkflows,
    workflowBundle: deps.workflowBundle,
    activities: deps.activities,
    interceptors: { activity: [activityLogInterceptors, ...activityTracing()] },
  });
}

/** A worker that runs: `done` settles when it has stopped; `stop` asks it to and waits for that. */
export interface RunningWorker {
  worker: Worker;
  done: Promise<void>;
  stop: () => Promise<void>;
}

export function runWorker(worker: Worker): RunningWorker {
  const done = worker.run();
  return {
    worker,
    done,
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
