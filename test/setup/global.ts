/**
 * Starts one in-memory Temporal dev server (tuned like `npm start`) on free ports and builds the
 * workflow bundle once, for every test file of the run. Redis keys of the run live under their
 * own prefix and are deleted at the end.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadTemporalCliPath } from '../../infra/config';
import { createLogger } from '../../infra/logging';
import { connectRedis, deleteKeysWithPrefix } from '../../store/redis';
import { ensureTemporalCli } from '../../dev/temporal/cli';
import { startDevServer } from '../../dev/temporal/server';
import { bundleWorkflows } from '../../worker/bundle';
import { REDIS_URL, TEST_WORKFLOWS_PATH } from '../support/constants';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
    redisKeyPrefix: string;
    temporalCliPath: string;
    /** The run's SHARED_FILES_DIR: large payloads by reference and finished reports. */
    sharedFilesDir: string;
  }
}

export default async function setup(project: TestProject) {
  const logger = createLogger('warn');
  const dir = mkdtempSync(join(tmpdir(), 'farmflow-test-'));
  const cliPath = await ensureTemporalCli({
    configuredPath: loadTemporalCliPath(),
    say: (line) => process.stderr.write(`${line}\n`),
  });
  const [server, bundle] = await Promise.all([
    startDevServer({ cliPath, port: 0, uiPort: null, logFile: join(dir, 'temporal.log') }),
    bundleWorkflows(logger, TEST_WORKFLOWS_PATH),
  ]);
  const bundlePath = join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);

  const redisKeyPrefix = `farmflow-test:${randomUUID().slice(0, 8)}:`;
  project.provide('temporalAddress', server.address);
  project.provide('workflowBundlePath', bundlePath);
  project.provide('redisKeyPrefix', redisKeyPrefix);
  project.provide('temporalCliPath', cliPath);
  project.provide('sharedFilesDir', join(dir, 'shared'));

  return async () => {
    await server.stop();
    const redis = await connectRedis(REDIS_URL, logger);
    await deleteKeysWithPrefix(redis, redisKeyPrefix);
    await redis.close();
    rmSync(dir, { recursive: true, force: true });
  };
}
