/**
 * Provides the official Temporal CLI (which embeds the dev server) without downloading anything
 * but Go modules: a configured binary when there is one, otherwise one built here with
 * `go install` into a per-machine cache keyed by version, so every clone and CI checkout on the
 * machine shares one build.
 */
import { execFile, spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

export const TEMPORAL_CLI_VERSION = '1.5.1';
const MODULE = 'github.com/temporalio/cli';
/** The CLI's go.mod asks for this Go; older toolchains fail halfway through a 3-minute build. */
const MIN_GO = [1, 25] as const;

const execFileAsync = promisify(execFile);

export interface CliSource {
  /** TEMPORAL_CLI_PATH, when configured. */
  configuredPath: string | undefined;
  /** Where progress goes; the build takes minutes, so silence would look like a hang. */
  say: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Where Go's official installer puts it, for shells whose PATH lacks it. */
  goFallbacks?: string[];
}

export class TemporalCliError extends Error {
  override name = 'TemporalCliError';
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'farmflow', 'temporal-cli', `v${TEMPORAL_CLI_VERSION}`);
}

async function checkGo(env: NodeJS.ProcessEnv, fallbacks: string[]): Promise<string> {
  const go = findOnPath('go', env) ?? fallbacks.find(isExecutable);
  const need = `Go ${MIN_GO.join('.')} or newer`;
  if (!go) {
    throw new TemporalCliError(
      `The Temporal CLI is not built yet and Go is not installed. Install ${need} (https://go.dev/doc/install), ` +
        'or point TEMPORAL_CLI_PATH at an existing `temporal` binary.',
    );
  }
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(go, ['env', 'GOVERSION'], { env }));
  } catch (err) {
    throw new TemporalCliError(
      `${go} does not run (${(err as Error).message}); reinstall Go ${MIN_GO.join('.')}+.`,
    );
  }
  const match = /^go(\d+)\.(\d+)/.exec(stdout.trim());
  const [major, minor] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
  if (major < MIN_GO[0] || (major === MIN_GO[0] && minor < MIN_GO[1])) {
    throw new TemporalCliError(
      `Temporal CLI v${TEMPORAL_CLI_VERSION} needs ${need}; ${go} is ${stdout.trim() || 'unknown'}. ` +
        'Install a newer Go, or point TEMPORAL_CLI_PATH at an existing `temporal` binary.',
    );
  }
  return go;
}

async function build(
  target: string,
  say: (line: string) => void,
  env: NodeJS.ProcessEnv,
  goFallbacks: string[],
) {
  const go = await checkGo(env, goFallbacks);
  const dir = cacheDir(env);
  mkdirSync(dir, { recursive: true });
  // Build into a private folder and rename: a concurrent build or an interrupted one never
  // leaves a half-written binary at the cached path.
  const staging = mkdtempSync(join(dir, 'build-'));
  say(
    `Building Temporal CLI v${TEMPORAL_CLI_VERSION} from Go modules into ${dir} ` +
      '(once per machine; about 3 minutes and 1.5 GB of memory on 2 cores)…',
  );
  const started = Date.now();
  const ticker = setInterval(
    () => say(`  still building the Temporal CLI… ${Math.round((Date.now() - started) / 1000)} s`),
    20_000,
  );
  try {
    const child = spawn(
      go,
      [
        'install',
        '-trimpath',
        `-ldflags=-s -w -X ${MODULE}/temporalcli.Version=${TEMPORAL_CLI_VERSION}`,
        `${MODULE}/cmd/temporal@v${TEMPORAL_CLI_VERSION}`,
      ],
      {
        // GOTOOLCHAIN=local: use the Go that is here instead of fetching another toolchain.
        env: {
          ...env,
          GOBIN: staging,
          CGO_ENABLED: '0',
          GOTOOLCHAIN: 'local',
          GOFLAGS: '-buildvcs=false',
        },
        stdio: ['ignore', 'inherit', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      for (const line of chunk.toString().split('\n')) if (line.trim()) say(`  ${line}`);
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    if (code !== 0) {
      throw new TemporalCliError(
        `go install of the Temporal CLI failed (exit ${code}). Its output:\n${stderr.slice(-4000)}`,
      );
    }
    renameSync(join(staging, 'temporal'), target);
    say(`Built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)} s: ${target}`);
  } finally {
    clearInterval(ticker);
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Returns the path of a runnable `temporal` binary, building it once per machine if needed. */
export async function ensureTemporalCli({
  configuredPath,
  say,
  env = process.env,
  goFallbacks = ['/usr/local/go/bin/go'],
}: CliSource): Promise<string> {
  if (configuredPath) {
    if (!isExecutable(configuredPath)) {
      throw new TemporalCliError(`TEMPORAL_CLI_PATH=${configuredPath} is not an executable file.`);
    }
    return configuredPath;
  }
  const onPath = findOnPath('temporal', env);
  if (onPath) return onPath;

  const target = join(cacheDir(env), 'temporal');
  if (!isExecutable(target)) await build(target, say, env, goFallbacks);
  return target;
}

export async function cliVersion(path: string): Promise<string> {
  const { stdout } = await execFileAsync(path, ['--version']);
  return stdout.trim();
}
