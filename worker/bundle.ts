/**
 * The workflow bundle: built once (Docker image, test run, benchmark) and loaded by every worker,
 * instead of each worker running webpack at start.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  bundleWorkflowCode,
  type WorkflowBundleOption,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { Logger } from '../infra/logging';
import { PinoTemporalLogger } from './runtime';

export const WORKFLOWS_PATH = join(__dirname, '..', 'workflows', 'index.ts');
export const WORKFLOW_INTERCEPTOR_MODULES = [join(__dirname, 'workflow-interceptors.ts')];

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

/** Written by `npm run build:workflows` (the Docker image does so at build time). */
export const PREBUILT_BUNDLE_PATH = join(__dirname, '..', 'dist', 'workflow-bundle.js');

export async function writePrebuiltBundle(logger: Logger, path = PREBUILT_BUNDLE_PATH) {
  const { code } = await bundleWorkflows(logger);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, code);
  return path;
}

/** The prebuilt bundle when there is one, otherwise a bundle built now (a few seconds). */
export async function loadWorkflowBundle(logger: Logger): Promise<WorkflowBundleOption> {
  if (existsSync(PREBUILT_BUNDLE_PATH)) {
    logger.info({ path: PREBUILT_BUNDLE_PATH }, 'using the prebuilt workflow bundle');
    return { codePath: PREBUILT_BUNDLE_PATH };
  }
  return bundleWorkflows(logger);
}
