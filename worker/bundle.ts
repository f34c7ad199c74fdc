/**
 * The workflow bundle: built once (Docker image, test run, benchmark) and loaded by every worker,
 * instead of each worker running webpack at start.
 */
import { join } from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from '../logging';
import { PinoTemporalLogger } from '../logging';

export const WORKFLOWS_PATH = join(__dirname, '..', 'workflows', 'index.ts');
export const WORKFLOW_INTERCEPTOR_MODULES = [join(__dirname, '..', 'workflows', 'interceptors.ts')];

export async function bundleWorkflows(
  logger: Logger,
  workflowsPath: string = WORKFLOWS_PATH,
): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath,
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    // webpack's statistics are noise at info level.
    logger: new PinoTemporalLogger(logger.child({ component: 'bundler' }, { level: 'warn' })),
  });
}
