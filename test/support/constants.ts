import { join } from 'node:path';
import { parseConfig } from '../../infra/config';

/** Tests reach the same Redis as the app (REDIS_URL), always under a per-run key prefix. */
export const REDIS_URL = parseConfig(process.env).redis.url;

/** The production workflows plus the test-only ones, bundled once per run. */
export const TEST_WORKFLOWS_PATH = join(__dirname, 'workflows.ts');
