/**
 * Starts the Temporal CLI dev server the same way for `npm start`, the tests and the benchmarks,
 * so its tuning lives in one place.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { USER_HASH_SEARCH_ATTRIBUTE } from '../../workflows/contract';

/**
 * Dynamic config for a single-shard dev server (values measured on 2 cores, see README):
 * - transferProcessorMaxPollRPS: the default 20 reads/s per shard puts every task dispatch on a
 *   50 ms grid under steady traffic; a new workflow with one activity fell from 150 ms to 22 ms.
 * - timerProcessorMaxPollRPS + timerProcessorMaxTimeShift: timers read ahead by 1 s by default,
 *   so sub-second game timers (scaled durations in tests and demos) would fire ~1 s late.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Record<string, string | number> = {
  'history.transferProcessorMaxPollRPS': 1000,
  'history.timerProcessorMaxPollRPS': 1000,
  'history.timerProcessorMaxTimeShift': '10ms',
};

/** File databases lose ~4× signal throughput with SQLite's default journal (171/s vs 745/s). */
const SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'];

export interface DevServerOptions {
  cliPath: string;
  /** SQLite file; omit for an in-memory server (tests, benchmarks). */
  dbFile?: string;
  /** 0 picks a free port. */
  port: number;
  /** Web UI port; null runs headless. */
  uiPort: number | null;
  /** Where the server's own log goes. */
  logFile: string;
  namespace?: string;
  /**
   * Run the server in a process group of its own, so that a terminal's Ctrl-C (sent to the whole
   * foreground group) reaches only its owner, which stops it after the work that needs it.
   */
  ownProcessGroup?: boolean;
}

/** How long a stopping server gets to close its database before SIGKILL (it needs well under 1 s). */
export const DEV_SERVER_STOP_GRACE_MS = 3_000;

export interface DevServer {
  address: string;
  uiUrl: string | null;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port assigned'));
      });
    });
  });
}

export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export function devServerArgs(
  opts: DevServerOptions & { port: number; httpPort: number; metricsPort: number },
) {
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--http-port',
    String(opts.httpPort),
    '--metrics-port',
    String(opts.metricsPort),
    '--search-attribute',
    `${USER_HASH_SEARCH_ATTRIBUTE.name}=Keyword`,
    '--log-format',
    'json',
    '--log-level',
    'warn',
  ];
  if (opts.namespace && opts.namespace !== 'default') args.push('--namespace', opts.namespace);
  args.push(...(opts.uiPort === null ? ['--headless'] : ['--ui-port', String(opts.uiPort)]));
  if (opts.dbFile) {
    args.push('--db-filename', opts.dbFile);
    for (const pragma of SQLITE_PRAGMAS) args.push('--sqlite-pragma', pragma);
  }
  for (const [key, value] of Object.entries(DEV_SERVER_DYNAMIC_CONFIG)) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }
  return args;
}

/** A start lost to a port race: the server picks its internal services' ports itself. */
class PortRaceError extends Error {}

/** How many times a start lost to a port race is tried again with fresh ports. */
const START_ATTEMPTS = 3;

async function waitUntilServing(
  address: string,
  child: ChildProcess,
  output: () => string,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const message = `the Temporal dev server exited during start (${child.exitCode ?? child.signalCode})`;
      if (output().includes('address already in use')) throw new PortRaceError(message);
      throw new Error(message);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.healthService.check({});
        // The dev server registers search attributes right after the frontend comes up.
        const { customAttributes } = await connection.operatorService.listSearchAttributes({
          namespace: 'default',
        });
        if (customAttributes && USER_HASH_SEARCH_ATTRIBUTE.name in customAttributes) return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `the Temporal dev server at ${address} did not become ready: ${String(lastError)}`,
  );
}

/**
 * Starts the server. Its history, matching and worker services listen on ports it picks itself,
 * which another process may take between its pick and its bind (tests start servers side by
 * side): such a start is tried again, up to START_ATTEMPTS times.
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  if (opts.port && !(await portIsFree(opts.port))) {
    throw new Error(
      `Port ${opts.port} is taken: another Temporal server may be running. Stop it, set TEMPORAL_DEV_PORT, ` +
        'or set TEMPORAL_ADDRESS to use it instead of starting one.',
    );
  }
  if (opts.uiPort && !(await portIsFree(opts.uiPort))) {
    throw new Error(`Port ${opts.uiPort} for the Temporal Web UI is taken: set TEMPORAL_UI_PORT.`);
  }
  if (opts.dbFile) mkdirSync(dirname(opts.dbFile), { recursive: true });
  mkdirSync(dirname(opts.logFile), { recursive: true });
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(opts);
    } catch (err) {
      if (!(err instanceof PortRaceError) || attempt === START_ATTEMPTS) {
        throw new Error(`${(err as Error).message}; see ${opts.logFile}`, { cause: err });
      }
    }
  }
}

async function launch(opts: DevServerOptions): Promise<DevServer> {
  const port = opts.port || (await freePort());
  const [httpPort, metricsPort] = [await freePort(), await freePort()];
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  const child = spawn(opts.cliPath, devServerArgs({ ...opts, port, httpPort, metricsPort }), {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.ownProcessGroup ?? false,
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  // What the server says until it serves, to tell a lost port race from other failures.
  let startOutput = '';
  const keep = (chunk: Buffer) => (startOutput = (startOutput + chunk.toString()).slice(-16_384));
  child.stderr?.on('data', keep);
  child.stdout?.on('data', keep);
  // If this process exits without a graceful stop, take the server down with it. (A SIGKILL of
  // this process leaves it running: nothing runs then.)
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      // SQLite in WAL mode survives a SIGKILL: the next start replays the log.
      const timer = setTimeout(() => child.kill('SIGKILL'), DEV_SERVER_STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    process.off('exit', killOnExit);
    log.end();
  };

  const address = `127.0.0.1:${port}`;
  try {
    await waitUntilServing(address, child, () => startOutput, 60_000);
  } catch (err) {
    await stop();
    throw err;
  } finally {
    child.stderr?.off('data', keep);
    child.stdout?.off('data', keep);
  }
  return { address, uiUrl: opts.uiPort === null ? null : `http://127.0.0.1:${opts.uiPort}`, stop };
}
