/**
 * The real Temporal server (not the CLI's dev server) on PostgreSQL, as production runs it: the
 * server and its SQL tool built from Go modules once per machine, the two databases created or
 * upgraded by `deploy/temporal/setup-schema.sh` (the script docker-compose.yml runs), SQL
 * advanced visibility, several history shards, the compose file's dynamic config, and the
 * namespace and `UserHash` registered by `deploy/temporal/setup-namespace.sh`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { type BuildContext, type GoBuild, goInstallCached } from '../go-build';
import { freePort, portIsFree } from '../temporal/server';
import type { PostgresTarget } from './postgres';

export const TEMPORAL_SERVER_VERSION = '1.29.1';
const MODULE = 'go.temporal.io/server';

export const TEMPORAL_SERVER_BUILD = {
  what: `Temporal server v${TEMPORAL_SERVER_VERSION} and its SQL tool`,
  packages: [
    `${MODULE}/cmd/server@v${TEMPORAL_SERVER_VERSION}`,
    `${MODULE}/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}`,
  ],
  binaries: ['server', 'sql'],
  cacheFolder: `temporal-server/v${TEMPORAL_SERVER_VERSION}`,
  minGo: [1, 25],
  duration: 'about 4 minutes and 2 GB of memory on 2 cores',
  instead: 'run the stack where Go is installed (docker-compose.yml runs the same topology)',
} as const satisfies GoBuild;

/** Fixed when a stack's databases are first set up; the server refuses another count later. */
export const HISTORY_SHARDS = 4;
const REPO = resolve(__dirname, '../..');
export const DYNAMIC_CONFIG_FILE = join(REPO, 'deploy/temporal/dynamicconfig.yaml');
const SETUP_SCHEMA = join(REPO, 'deploy/temporal/setup-schema.sh');
const SETUP_NAMESPACE = join(REPO, 'deploy/temporal/setup-namespace.sh');
/** SIGTERM, then this long to close its shards and connections, then SIGKILL. */
const STOP_GRACE_MS = 10_000;
const START_TIMEOUT_MS = 90_000;
/** A start lost to a port race (a neighbour bound one of the 8 ports first) is tried again. */
const START_ATTEMPTS = 3;

const execFileAsync = promisify(execFile);

export interface TemporalBinaries {
  server: string;
  sql: string;
}

export async function ensureTemporalServer(context: BuildContext): Promise<TemporalBinaries> {
  const { server, sql } = await goInstallCached(TEMPORAL_SERVER_BUILD, context);
  return { server: server!, sql: sql! };
}

export interface TemporalDatabases {
  main: string;
  visibility: string;
}

/**
 * Runs one of deploy/temporal's scripts with only the given environment; its output goes to `log`,
 * and a failure names what failed with the script's last lines.
 */
async function runScript(
  script: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  what: string,
  log: (text: string) => void,
): Promise<void> {
  try {
    const { stdout, stderr } = await execFileAsync('sh', [script], {
      env,
      timeout: timeoutMs,
      maxBuffer: 16 * 2 ** 20,
    });
    log(stdout + stderr);
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    log(stdout + stderr);
    throw new Error(`${what} failed: ${lastLines(stdout + stderr)}`, { cause: err });
  }
}

/** Creates the databases when missing and applies the schema versions they lack. */
export function setUpSchema(
  sqlTool: string,
  postgres: PostgresTarget,
  databases: TemporalDatabases,
  log: (text: string) => void,
): Promise<void> {
  return runScript(
    SETUP_SCHEMA,
    {
      PATH: process.env.PATH,
      TEMPORAL_SQL_TOOL: sqlTool,
      POSTGRES_SEEDS: postgres.host,
      DB_PORT: String(postgres.port),
      POSTGRES_USER: postgres.user,
      POSTGRES_PWD: postgres.password,
      DBNAME: databases.main,
      VISIBILITY_DBNAME: databases.visibility,
    },
    120_000,
    `setting up Temporal's databases ${databases.main} and ${databases.visibility}`,
    log,
  );
}

interface Ports {
  frontend: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
}

/** The server's config: base.yaml under `root/config`, loaded by `--root root --config config`. */
export function serverConfig(
  postgres: PostgresTarget,
  databases: TemporalDatabases,
  ports: Ports,
): string {
  const datastore = (database: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName: database,
      connectAddr: `${postgres.host}:${postgres.port}`,
      connectProtocol: 'tcp',
      user: postgres.user,
      password: postgres.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (grpcPort: number, membershipPort: number) => ({
    rpc: { grpcPort, membershipPort, bindOnLocalHost: true },
  });
  // JSON is YAML: no YAML library needed to write it.
  return JSON.stringify(
    {
      log: { stdout: true, level: 'warn', format: 'json' },
      persistence: {
        defaultStore: 'default',
        visibilityStore: 'visibility',
        numHistoryShards: HISTORY_SHARDS,
        datastores: {
          // Four services with their own pools: PostgreSQL's default of 100 connections holds
          // two stacks side by side.
          default: datastore(databases.main, 10),
          visibility: datastore(databases.visibility, 3),
        },
      },
      global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
      services: {
        frontend: rpc(ports.frontend, ports.frontendMembership),
        history: rpc(ports.history, ports.historyMembership),
        matching: rpc(ports.matching, ports.matchingMembership),
        worker: rpc(ports.worker, ports.workerMembership),
      },
      clusterMetadata: {
        enableGlobalNamespace: false,
        failoverVersionIncrement: 10,
        masterClusterName: 'active',
        currentClusterName: 'active',
        clusterInformation: {
          active: {
            enabled: true,
            initialFailoverVersion: 1,
            rpcName: 'frontend',
            rpcAddress: `127.0.0.1:${ports.frontend}`,
          },
        },
      },
      dcRedirectionPolicy: { policy: 'noop' },
      dynamicConfigClient: { filepath: DYNAMIC_CONFIG_FILE, pollInterval: '10s' },
    },
    null,
    2,
  );
}

export interface TemporalServerOptions {
  binaries: TemporalBinaries;
  cliPath: string;
  postgres: PostgresTarget;
  databases: TemporalDatabases;
  /** Holds the config folder; its log goes to `logFile`. */
  dir: string;
  logFile: string;
  namespace: string;
  /** The frontend's port; 0 picks a free one (and the same one again on restart). */
  port: number;
  /** Lines for the person running it. */
  say: (line: string) => void;
}

export interface TemporalServer {
  address: string;
  readonly pid: number | undefined;
  /** SIGTERM, then SIGKILL after the grace. */
  stop(): Promise<void>;
  /** Stops it and starts it again on the same ports and databases. */
  restart(): Promise<void>;
}

class PortRaceError extends Error {}

/**
 * A server this stack started before and never stopped (its stack process was SIGKILLed, which
 * nothing can catch): stopped now, so that two servers never share the stack's databases.
 */
export const serverPidFile = (dir: string) => join(dir, 'server.pid');

export async function stopLeftover(
  pidFile: string,
  serverPath: string,
  say: (line: string) => void,
) {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8'));
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(serverPath)) return;
  } catch {
    return; // no pid file, or no such process (or no /proc: not Linux)
  }
  say(`Stopping the Temporal server an earlier run of this stack left running (pid ${pid})…`);
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // It exited meanwhile.
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + STOP_GRACE_MS;
  while (Date.now() < deadline && existsSync(`/proc/${pid}`)) await sleep(100);
  if (existsSync(`/proc/${pid}`)) signal('SIGKILL');
}

export async function startTemporalServer(opts: TemporalServerOptions): Promise<TemporalServer> {
  mkdirSync(join(opts.dir, 'config'), { recursive: true });
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const pidFile = serverPidFile(opts.dir);
  await stopLeftover(pidFile, opts.binaries.server, opts.say);
  let ports: Ports | undefined;
  let child: ChildProcess | undefined;
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  // A log that cannot be written must not take the stack down.
  log.on('error', () => undefined);
  // If this process exits without a graceful stop, take the server down with it.
  const killOnExit = () => child?.kill('SIGKILL');
  process.on('exit', killOnExit);
  const release = () => {
    rmSync(pidFile, { force: true });
    process.off('exit', killOnExit);
    log.end();
  };

  /** Starts the server; its frontend keeps its port on a restart (clients know the address). */
  const launch = async (fresh: 'all ports' | 'internal ports' | 'same ports') => {
    if (fresh === 'all ports' || !ports) ports = await pickPorts(opts.port);
    else if (fresh === 'internal ports') ports = await pickPorts(ports.frontend);
    // It holds the database password.
    writeFileSync(
      join(opts.dir, 'config', 'base.yaml'),
      serverConfig(opts.postgres, opts.databases, ports),
      { mode: 0o600 },
    );
    let output = '';
    const started = spawn(
      opts.binaries.server,
      ['--root', opts.dir, '--config', 'config', '--allow-no-auth', 'start'],
      // Its own process group: a terminal's Ctrl-C reaches only the stack, which stops the
      // server after the bot and the worker that need it.
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    child = started;
    // A binary that cannot run (ENOENT, EACCES) ends the start below, through its exit.
    started.on('error', (err) => {
      output += `\n${err.message}`;
    });
    writeFileSync(pidFile, String(started.pid ?? ''));
    const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-32_768));
    for (const stream of [started.stdout, started.stderr]) {
      stream.pipe(log, { end: false });
      stream.on('data', keep);
    }
    const address = `127.0.0.1:${ports.frontend}`;
    try {
      await waitUntilServing(address, started, () => output);
    } catch (err) {
      await stopChild(started);
      throw err;
    } finally {
      started.stdout.off('data', keep);
      started.stderr.off('data', keep);
    }
    return address;
  };

  /** A start lost to a port race (a neighbour bound one of its ports first) goes again. */
  const launchRetried = async (first: 'all ports' | 'same ports') => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch(attempt === 1 ? first : 'internal ports');
      } catch (err) {
        if (!(err instanceof PortRaceError) || attempt === START_ATTEMPTS) {
          throw new Error(`${(err as Error).message}; see ${opts.logFile}`, { cause: err });
        }
      }
    }
  };

  try {
    const address = await launchRetried('all ports');
    opts.say(
      `Temporal server ${TEMPORAL_SERVER_VERSION} serves at ${address}; setting up namespace ${opts.namespace}…`,
    );
    await setUpNamespace(opts.cliPath, address, opts.namespace, (line) => log.write(`${line}\n`));
    return {
      address,
      get pid() {
        return child?.pid;
      },
      async stop() {
        if (child) await stopChild(child);
        release();
      },
      async restart() {
        if (child) await stopChild(child);
        // The same frontend port: the bot and the worker reconnect to the address they have.
        await launchRetried('same ports');
      },
    };
  } catch (err) {
    if (child) await stopChild(child);
    release();
    throw err;
  }
}

/** The server keeps membership ports in a smallint column: they must stay below 32768. */
const MEMBERSHIP_PORTS = { from: 20_000, to: 32_767 };

async function freeMembershipPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port =
      MEMBERSHIP_PORTS.from +
      Math.floor(Math.random() * (MEMBERSHIP_PORTS.to - MEMBERSHIP_PORTS.from));
    if (!taken.has(port) && (await portIsFree(port))) {
      taken.add(port);
      return port;
    }
  }
  throw new Error(`no free port between ${MEMBERSHIP_PORTS.from} and ${MEMBERSHIP_PORTS.to}`);
}

async function pickPorts(frontend: number): Promise<Ports> {
  const taken = new Set<number>();
  const membership = () => freeMembershipPort(taken);
  return {
    frontend: frontend || (await freePort()),
    frontendMembership: await membership(),
    history: await freePort(),
    historyMembership: await membership(),
    matching: await freePort(),
    matchingMembership: await membership(),
    worker: await freePort(),
    workerMembership: await membership(),
  };
}

/** Stops it and waits until its output is read to the end ('close'), so the log can end after. */
async function stopChild(child: ChildProcess): Promise<void> {
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const closed = new Promise<void>((resolve) => {
    // 'close' comes after the exit, once its output streams closed; it may have come already.
    if (exited() && child.stdout?.closed !== false && child.stderr?.closed !== false) resolve();
    else child.once('close', () => resolve());
    // Bounded all the same: a grandchild holding the pipes must not hold the stop.
    setTimeout(resolve, STOP_GRACE_MS + 5_000).unref();
  });
  if (!exited()) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await closed;
    clearTimeout(timer);
  }
  await closed;
}

async function waitUntilServing(address: string, child: ChildProcess, output: () => string) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const message = `the Temporal server exited during start (${child.exitCode ?? child.signalCode}): ${lastLines(output())}`;
      if (output().includes('address already in use')) throw new PortRaceError(message);
      throw new Error(message);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.withDeadline(Date.now() + 2000, () => connection.healthService.check({}));
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `the Temporal server at ${address} did not serve within ${START_TIMEOUT_MS / 1000} s: ${String(lastError)}`,
  );
}

/** The namespace and `UserHash`, by the script the compose stack runs (idempotent, retried). */
function setUpNamespace(
  cliPath: string,
  address: string,
  namespace: string,
  log: (text: string) => void,
): Promise<void> {
  return runScript(
    SETUP_NAMESPACE,
    {
      // The script calls `temporal`: the CLI this project provides comes first.
      PATH: `${dirname(cliPath)}:${process.env.PATH ?? ''}`,
      HOME: process.env.HOME,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: namespace,
    },
    180_000,
    `registering namespace ${namespace} and UserHash`,
    log,
  );
}

/** The end of a tool's or the server's output; of the server's JSON lines, the errors' messages. */
function lastLines(text: string, count = 6): string {
  const lines = text
    .trim()
    .split('\n')
    .map((line) => {
      try {
        const entry = JSON.parse(line) as { level?: string; msg?: string; error?: string };
        if (entry.level !== 'error' && entry.level !== 'fatal') return undefined;
        return `${entry.msg}${entry.error ? `: ${entry.error}` : ''}`;
      } catch {
        return line;
      }
    })
    .filter((line): line is string => line !== undefined);
  return lines.slice(-count).join('\n');
}
