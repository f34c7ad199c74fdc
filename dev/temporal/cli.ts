/**
 * Provides the official Temporal CLI (which embeds the dev server) without downloading anything
 * but Go modules: a configured binary when there is one, else `temporal` on PATH, else one built
 * here once per machine (dev/go-build.ts).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  type BuildContext,
  type GoBuild,
  buildCacheDir,
  findOnPath,
  goInstallCached,
  isExecutable,
  GoBuildError,
} from '../go-build';

export const TEMPORAL_CLI_VERSION = '1.5.1';
const MODULE = 'github.com/temporalio/cli';

const execFileAsync = promisify(execFile);

export const TEMPORAL_CLI_BUILD = {
  what: `Temporal CLI v${TEMPORAL_CLI_VERSION}`,
  packages: [`${MODULE}/cmd/temporal@v${TEMPORAL_CLI_VERSION}`],
  binaries: ['temporal'],
  cacheFolder: `temporal-cli/v${TEMPORAL_CLI_VERSION}`,
  minGo: [1, 25],
  ldflags: `-X ${MODULE}/temporalcli.Version=${TEMPORAL_CLI_VERSION}`,
  duration: 'about 3 minutes and 1.5 GB of memory on 2 cores',
  instead: 'point TEMPORAL_CLI_PATH at an existing `temporal` binary',
} as const satisfies GoBuild;

export interface CliSource extends BuildContext {
  /** TEMPORAL_CLI_PATH, when configured. */
  configuredPath: string | undefined;
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return buildCacheDir(TEMPORAL_CLI_BUILD.cacheFolder, env);
}

/** Returns the path of a runnable `temporal` binary, building it once per machine if needed. */
export async function ensureTemporalCli({
  configuredPath,
  ...context
}: CliSource): Promise<string> {
  if (configuredPath) {
    if (!isExecutable(configuredPath)) {
      throw new GoBuildError(`TEMPORAL_CLI_PATH=${configuredPath} is not an executable file.`);
    }
    return configuredPath;
  }
  const onPath = findOnPath('temporal', context.env ?? process.env);
  if (onPath) return onPath;
  const { temporal } = await goInstallCached(TEMPORAL_CLI_BUILD, context);
  return temporal!;
}

export async function cliVersion(path: string): Promise<string> {
  const { stdout } = await execFileAsync(path, ['--version']);
  return stdout.trim();
}
