/**
 * Builds Go programs from Go modules into a per-machine cache keyed by version (`go install`,
 * CGO off, the machine's own Go toolchain), so every clone and CI checkout on the machine shares
 * one build. The Temporal CLI (dev/temporal/cli.ts), the Temporal server with its SQL tool
 * (dev/stack/temporal-server.ts) and promtool (dev/prometheus/promtool.ts) come from here;
 * nothing but Go modules is downloaded.
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

const execFileAsync = promisify(execFile);

export class GoBuildError extends Error {
  override name = 'GoBuildError';
}

export interface GoBuild {
  /** What is built, for people: "Temporal CLI v1.5.1". */
  what: string;
  /** `module/path/cmd/x@vX.Y.Z`, one per binary. */
  packages: readonly string[];
  /** The binaries `go install` writes, named after their packages' last path element. */
  binaries: readonly string[];
  /** The cache folder under ~/.cache/farmflow: `temporal-cli/v1.5.1`. */
  cacheFolder: string;
  /** The Go its go.mod asks for: older toolchains fail halfway through a build of minutes. */
  minGo: readonly [number, number];
  ldflags?: string;
  /** How long it takes, for the line that says it starts: "about 3 minutes and 1.5 GB…". */
  duration: string;
  /** What to do instead of installing Go: "point TEMPORAL_CLI_PATH at …". */
  instead: string;
}

export interface BuildContext {
  /** Where progress goes; a build takes minutes, so silence would look like a hang. */
  say: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Where Go's official installer puts it, for shells whose PATH lacks it. */
  goFallbacks?: string[];
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

export function buildCacheDir(folder: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'farmflow', folder);
}

async function checkGo(spec: GoBuild, env: NodeJS.ProcessEnv, fallbacks: string[]) {
  const go = findOnPath('go', env) ?? fallbacks.find(isExecutable);
  const need = `Go ${spec.minGo.join('.')} or newer`;
  if (!go) {
    throw new GoBuildError(
      `The ${spec.what} is not built yet and Go is not installed. Install ${need} (https://go.dev/doc/install), ` +
        `or ${spec.instead}.`,
    );
  }
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(go, ['env', 'GOVERSION'], { env }));
  } catch (err) {
    throw new GoBuildError(`${go} does not run (${(err as Error).message}); reinstall ${need}.`);
  }
  const match = /^go(\d+)\.(\d+)/.exec(stdout.trim());
  const [major, minor] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
  const [minMajor, minMinor] = spec.minGo;
  if (major < minMajor || (major === minMajor && minor < minMinor)) {
    throw new GoBuildError(
      `The ${spec.what} needs ${need}; ${go} is ${stdout.trim() || 'unknown'}. ` +
        `Install a newer Go, or ${spec.instead}.`,
    );
  }
  return go;
}

/**
 * Returns the cached binaries by name, building them first when any is missing. A concurrent or
 * interrupted build never leaves a half-written binary at a cached path: it builds into a
 * private folder and renames.
 */
export async function goInstallCached(
  spec: GoBuild,
  { say, env = process.env, goFallbacks = ['/usr/local/go/bin/go'] }: BuildContext,
): Promise<Record<string, string>> {
  const dir = buildCacheDir(spec.cacheFolder, env);
  const paths = Object.fromEntries(spec.binaries.map((name) => [name, join(dir, name)]));
  if (Object.values(paths).every(isExecutable)) return paths;

  const go = await checkGo(spec, env, goFallbacks);
  mkdirSync(dir, { recursive: true });
  const staging = mkdtempSync(join(dir, 'build-'));
  say(
    `Building the ${spec.what} from Go modules into ${dir} (once per machine; ${spec.duration})…`,
  );
  const started = Date.now();
  const ticker = setInterval(
    () => say(`  still building the ${spec.what}… ${Math.round((Date.now() - started) / 1000)} s`),
    20_000,
  );
  try {
    const child = spawn(
      go,
      [
        'install',
        '-trimpath',
        `-ldflags=-s -w${spec.ldflags ? ` ${spec.ldflags}` : ''}`,
        ...spec.packages,
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
      throw new GoBuildError(
        `go install of the ${spec.what} failed (exit ${code}). Its output:\n${stderr.slice(-4000)}`,
      );
    }
    for (const [name, target] of Object.entries(paths)) renameSync(join(staging, name), target);
    say(`Built the ${spec.what} in ${Math.round((Date.now() - started) / 1000)} s: ${dir}`);
    return paths;
  } finally {
    clearInterval(ticker);
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * The binary `variable` names when it is set (it must be an executable), else the cached build of
 * `spec`, built first when missing. For one-binary tools: promtool, helm, kubeconform.
 */
export async function ensureGoTool(
  spec: GoBuild,
  variable: string,
  say: (line: string) => void,
): Promise<string> {
  const configured = process.env[variable];
  if (configured) {
    if (!isExecutable(configured))
      throw new GoBuildError(`${variable}=${configured} is not an executable`);
    return configured;
  }
  const paths = await goInstallCached(spec, { say });
  return paths[spec.binaries[0]!]!;
}
