/** The game worker: farms and their activities on the game task queue. */
import { type NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { TASK_QUEUES } from '../common/temporal';
import { activityLogInterceptors } from '../logging';

export interface GameWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  workflowBundle: WorkflowBundleOption;
  activities: object;
  taskQueue?: string;
}

export function createGameWorker(deps: GameWorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue ?? TASK_QUEUES.game,
    workflowBundle: deps.workflowBundle,
    activities: deps.activities,
    interceptors: { activity: [activityLogInterceptors] },
  });
}
