/**
 * ensureTemporalCli against throwaway folders: a temp XDG_CACHE_HOME and a PATH of temp folders
 * holding only the fake `go` and `temporal` scripts a test puts there. No test builds the real CLI:
 * the machine's Go is kept out of reach (no Go fallbacks), so a build can only reach a fake `go`.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cacheDir, ensureTemporalCli, TEMPORAL_CLI_VERSION } from '../../../dev/temporal/cli';
import { GoBuildError } from '../../../dev/go-build';

let root: string;
let bin: string;
let cache: string;
let env: NodeJS.ProcessEnv;
let said: string[];
const say = (line: string) => said.push(line);

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'farmflow-cli-test-'));
  bin = join(root, 'bin');
  cache = join(root, 'cache');
  mkdirSync(bin);
  // Nothing else: no HOME, GOPATH or GOROOT from the machine reaches a fake go or the code.
  env = { PATH: bin, XDG_CACHE_HOME: cache };
  said = [];
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function script(path: string, body: string, mode = 0o755): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, mode);
  return path;
}

/**
 * A `go` that answers `go env GOVERSION` with `version`, logs every other call with the
 * environment the build relies on, and runs `install` as `installBody`.
 */
function fakeGo(version: string, installBody = 'echo "fake go: no builds here" >&2; exit 1') {
  const log = join(root, 'go-calls.log');
  const path = script(
    join(bin, 'go'),
    [
      'if [ "$1 $2" = "env GOVERSION" ]; then echo ' + version + '; exit 0; fi',
      `echo "$* | GOBIN=$GOBIN GOTOOLCHAIN=$GOTOOLCHAIN CGO_ENABLED=$CGO_ENABLED" >> ${log}`,
      'if [ "$1" = "install" ]; then',
      installBody,
      'fi',
      'exit 3',
    ].join('\n'),
  );
  const calls = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
  return { path, calls };
}

const cachedPath = () =>
  join(cache, 'farmflow', 'temporal-cli', `v${TEMPORAL_CLI_VERSION}`, 'temporal');

describe('dev/temporal/cli: where the binary comes from', () => {
  it('keeps its cache under XDG_CACHE_HOME, keyed by the CLI version', () => {
    expect(cacheDir(env)).toBe(join(cache, 'farmflow', 'temporal-cli', 'v1.5.1'));
    expect(TEMPORAL_CLI_VERSION).toBe('1.5.1');
  });

  it('returns a configured executable path as it is', async () => {
    const configured = script(join(root, 'opt', 'my-temporal'), 'exit 0');
    script(join(bin, 'temporal'), 'exit 0');
    await expect(
      ensureTemporalCli({ goFallbacks: [], configuredPath: configured, say, env }),
    ).resolves.toBe(configured);
    expect(said).toEqual([]);
  });

  it('refuses a configured path that is not executable, naming TEMPORAL_CLI_PATH', async () => {
    const plain = script(join(root, 'opt', 'temporal'), 'exit 0', 0o644);
    // A working `temporal` on PATH must not paper over the configuration mistake.
    script(join(bin, 'temporal'), 'exit 0');
    const attempt = ensureTemporalCli({ goFallbacks: [], configuredPath: plain, say, env });
    await expect(attempt).rejects.toThrow(GoBuildError);
    await expect(attempt).rejects.toThrow(`TEMPORAL_CLI_PATH=${plain} is not an executable file.`);
  });

  it('refuses a folder as the configured path', async () => {
    const folder = join(root, 'opt');
    mkdirSync(folder, { recursive: true });
    await expect(
      ensureTemporalCli({ goFallbacks: [], configuredPath: folder, say, env }),
    ).rejects.toThrow(`TEMPORAL_CLI_PATH=${folder} is not an executable file.`);
  });

  it('refuses a configured path that does not exist', async () => {
    const missing = join(root, 'nowhere', 'temporal');
    await expect(
      ensureTemporalCli({ goFallbacks: [], configuredPath: missing, say, env }),
    ).rejects.toThrow(`TEMPORAL_CLI_PATH=${missing} is not an executable file.`);
  });

  it('uses a `temporal` on PATH, the first one that is executable', async () => {
    const skipped = join(root, 'bin-a');
    const used = join(root, 'bin-b');
    script(join(skipped, 'temporal'), 'exit 0', 0o644);
    script(join(used, 'temporal'), 'exit 0');
    script(join(root, 'bin-c', 'temporal'), 'exit 0');
    env.PATH = ['', skipped, used, join(root, 'bin-c'), bin].join(':');
    await expect(
      ensureTemporalCli({ goFallbacks: [], configuredPath: undefined, say, env }),
    ).resolves.toBe(join(used, 'temporal'));
    expect(said).toEqual([]);
  });

  it('prefers a `temporal` on PATH to the cached build', async () => {
    script(cachedPath(), 'exit 0');
    script(join(bin, 'temporal'), 'exit 0');
    await expect(
      ensureTemporalCli({ goFallbacks: [], configuredPath: undefined, say, env }),
    ).resolves.toBe(join(bin, 'temporal'));
  });

  it('returns an already cached binary without building', async () => {
    script(cachedPath(), 'exit 0');
    // No go on PATH and the system Go hidden: a build attempt would throw "Go is not installed".
    await expect(
      ensureTemporalCli({ goFallbacks: [], configuredPath: undefined, say, env }),
    ).resolves.toBe(cachedPath());
    expect(said).toEqual([]);
  });

  it('does not build when a fake go is on PATH and the binary is cached', async () => {
    const go = fakeGo('go1.25.0');
    script(cachedPath(), 'exit 0');
    await expect(
      ensureTemporalCli({ goFallbacks: [], configuredPath: undefined, say, env }),
    ).resolves.toBe(cachedPath());
    expect(go.calls()).toEqual([]);
  });
});

describe('dev/temporal/cli: building needs Go 1.25', () => {
  it('says Go is not installed, what to install and the alternative', async () => {
    const attempt = ensureTemporalCli({ goFallbacks: [], configuredPath: undefined, say, env });
    await expect(attempt).rejects.toThrow(GoBuildError);
    const message = await attempt.catch((err: Error) => err.message);
    expect(message).toMatch(/Go is not installed/);
    expect(message).toContain('Install Go 1.25 or newer (https://go.dev/doc/install)');
    expect(message).toContain('TEMPORAL_CLI_PATH');
    // Nothing was started or created on the way to that answer.
    expect(said).toEqual([]);
    expect(existsSync(cache)).toBe(false);
  });

  it.each(['go1.22.0', 'go1.24.7', 'go1.9', 'devel +abc'])(
    'refuses %s, naming the Go it found and what it needs',
    async (version) => {
      const go = fakeGo(version);
      const attempt = ensureTemporalCli({ goFallbacks: [], configuredPath: undefined, say, env });
      await expect(attempt).rejects.toThrow(GoBuildError);
      const message = await attempt.catch((err: Error) => err.message);
      expect(message).toContain(`Temporal CLI v${TEMPORAL_CLI_VERSION} needs Go 1.25 or newer`);
      expect(message).toContain(`${go.path} is ${version}`);
      expect(message).toContain('TEMPORAL_CLI_PATH');
      expect(go.calls()).toEqual([]);
      expect(existsSync(cache)).toBe(false);
    },
  );

  it('reports a failed go install with its output and leaves no staging folder', async () => {
    const go = fakeGo('go1.25.0', 'echo "go: module lookup disabled" >&2; exit 1');
    const attempt = ensureTemporalCli({ goFallbacks: [], configuredPath: undefined, say, env });
    await expect(attempt).rejects.toThrow(GoBuildError);
    const message = await attempt.catch((err: Error) => err.message);
    expect(message).toContain(
      `go install of the Temporal CLI v${TEMPORAL_CLI_VERSION} failed (exit 1)`,
    );
    expect(message).toContain('go: module lookup disabled');
    expect(go.calls()).toHaveLength(1);
    expect(said.join('\n')).toContain('go: module lookup disabled');
    expect(readdir(cacheDir(env))).toEqual([]);
  });

  it('installs from Go modules into a staging folder and moves the binary into the cache', async () => {
    const go = fakeGo(
      'go1.26.1',
      [
        'printf \'#!/bin/sh\\necho "temporal version 1.5.1"\\n\' > "$GOBIN/temporal"',
        '/bin/chmod 755 "$GOBIN/temporal"',
        'exit 0',
      ].join('\n'),
    );
    await expect(
      ensureTemporalCli({ goFallbacks: [], configuredPath: undefined, say, env }),
    ).resolves.toBe(cachedPath());
    const [call] = go.calls();
    expect(call).toMatch(
      /^install -trimpath -ldflags=-s -w -X github.com\/temporalio\/cli\/temporalcli.Version=1\.5\.1 github.com\/temporalio\/cli\/cmd\/temporal@v1\.5\.1 \| /,
    );
    expect(call).toContain(`GOBIN=${join(cacheDir(env), 'build-')}`);
    expect(call).toContain('GOTOOLCHAIN=local CGO_ENABLED=0');
    expect(readdir(cacheDir(env))).toEqual(['temporal']);
    expect(said[0]).toMatch(/^Building the Temporal CLI v1\.5\.1 from Go modules into /);
    expect(said.at(-1)).toMatch(/^Built the Temporal CLI v1\.5\.1 in \d+ s: /);
    expect(said.at(-1)).toContain(cacheDir(env));

    // The next call finds the cached binary and does not build again.
    said = [];
    await expect(
      ensureTemporalCli({ goFallbacks: [], configuredPath: undefined, say, env }),
    ).resolves.toBe(cachedPath());
    expect(go.calls()).toHaveLength(1);
    expect(said).toEqual([]);
  });
});

function readdir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}
