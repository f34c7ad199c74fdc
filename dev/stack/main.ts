/**
 * `npm run stack`: the production topology on this machine. It builds the Temporal server once
 * per machine, starts it on PostgreSQL (POSTGRES_URL) with databases of the stack's own, then
 * the bot and the worker as separate processes with logs of their own, and, without a bot token,
 * the local Bot API server and the web chat to play in. Ctrl-C (or SIGTERM, SIGHUP) stops the
 * bot, the worker and the server in that order. `--reset` drops what the stack created.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { Command, InvalidArgumentError } from 'commander';
import { parseCommandLine, positiveNumber } from '../../infra/command-line';
import { livePidIn } from '../../infra/pids';
import fastify from 'fastify';
import { ConfigError, parseStackEnv, type StackEnv } from '../../infra/config';
import { createTerminalLogger } from '../../infra/terminal-log';
import { createLogger, type Logger } from '../../infra/logging';
import { createShutdown, type Shutdown } from '../../infra/shutdown';
import { farmflowDataConverter } from '../../store/payload-files';
import { installTemporalRuntime } from '../../worker/runtime';
import { connectRedis, deleteKeysWithPrefix } from '../../store/redis';
import { createPlayerApi } from '../bot-api/player-api';
import { applySchedules } from '../start/schedules';
import { LOCAL_MAX_PLAYERS, LOCAL_RETENTION } from '../start/telegram';
import { ensureTemporalCli } from '../temporal/cli';
import { webChatExtraRoutes } from '../web-chat/plugin';
import { describeTarget, parsePostgresUrl } from './postgres';
import { dropStack, type Stack, stackDatabases, stackDir, startStack } from './stack';
import { ensureTemporalServer, HISTORY_SHARDS, TEMPORAL_SERVER_VERSION } from './temporal-server';

/** Longer than npm start's: the bot and the worker finish their work, then the server stops. */
const STACK_STOP_DEADLINE_MS = 40_000;

interface Options {
  name: string;
  reset?: boolean;
  temporalPort: number;
  httpPort: number;
  adminPort: number;
  playPort: number;
  timeScale: number;
}

const portOption = (text: string) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new InvalidArgumentError('a port from 1 to 65535 (0: a free one)');
  }
  return n;
};

function parseArgs(): Options | number {
  const program = new Command()
    .name('npm run stack --')
    .description(
      'Temporal server on PostgreSQL, the bot and the worker as separate processes (the production topology, here).',
    )
    .option('--name <name>', 'names its databases, folder and Redis prefix', 'stack')
    .option('--reset', 'drop what the stack created (databases, folder, Redis keys), then exit')
    .option(
      '--temporal-port <port>',
      "the Temporal frontend's port (default: a free one)",
      portOption,
      0,
    )
    .option('--http-port <port>', "the bot's public port (default: a free one)", portOption, 0)
    .option('--admin-port <port>', "the bot's admin port (default: a free one)", portOption, 0)
    .option('--play-port <port>', "the web chat's port (default: a free one)", portOption, 0)
    .option('--time-scale <n>', 'multiplies every game duration', positiveNumber(1000), 0.01);
  return parseCommandLine(program) ?? program.opts<Options>();
}

/** The pid of a stack of this name still running, from its pid file. */
const runningPid = (dir: string) => livePidIn(join(dir, 'stack.pid'));

async function reset(env: StackEnv, name: string, say: (line: string) => void) {
  const dir = stackDir(env.dataDir, name);
  const pid = runningPid(dir);
  if (pid !== undefined) throw new Error(`stack ${name} is running (pid ${pid}): stop it first`);
  const postgres = parsePostgresUrl(env.postgresUrl);
  await dropStack({ name, postgres, dataDir: env.dataDir });
  const redis = await connectRedis(env.redisUrl, createLogger('error'));
  try {
    const keys = await deleteKeysWithPrefix(redis, `${name}:`);
    const { main, visibility } = stackDatabases(name);
    say(
      `Stack ${name} reset: dropped databases ${main} and ${visibility} (${describeTarget(postgres)}), ${dir}, and ${keys} Redis keys under "${name}:".`,
    );
  } finally {
    await redis.close();
  }
}

async function main(): Promise<number | undefined> {
  const options = parseArgs();
  if (typeof options === 'number') return options;
  const say = (line: string) => process.stderr.write(`${line}\n`);
  let env: StackEnv;
  try {
    env = parseStackEnv(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      say(`farmflow stack: ${err.message}`);
      return 2;
    }
    throw err;
  }
  if (options.reset) {
    await reset(env, options.name, say);
    return 0;
  }

  const dir = stackDir(env.dataDir, options.name);
  const running = runningPid(dir);
  if (running !== undefined) {
    say(`farmflow stack: stack ${options.name} is already running (pid ${running}).`);
    return 1;
  }
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const logFile = join(dir, 'logs', 'stack.log');
  const logger = createTerminalLogger({ level: 'info', file: logFile });
  // The SDK's own lines (its retries) go to the stack's log, not raw to the terminal.
  installTemporalRuntime(logger);
  const shutdown = createShutdown(logger, {
    signals: ['SIGINT', 'SIGTERM', 'SIGHUP'],
    announce: say,
    stopDeadlineMs: STACK_STOP_DEADLINE_MS,
  });
  writeFileSync(join(dir, 'stack.pid'), String(process.pid));
  shutdown.add('pid file', async () => rmSync(join(dir, 'stack.pid'), { force: true }));

  try {
    await run(options, env, dir, say, logger, shutdown);
  } catch (err) {
    say(`farmflow stack: ${(err as Error).message}`);
    await shutdown.run(1);
  }
  return undefined;
}

async function run(
  options: Options,
  env: StackEnv,
  dir: string,
  say: (line: string) => void,
  logger: Logger,
  shutdown: Shutdown,
) {
  const postgres = parsePostgresUrl(env.postgresUrl);
  const cliPath = await ensureTemporalCli({ configuredPath: env.cliPath, say });
  const binaries = await ensureTemporalServer({ say });
  const stack: Stack = await startStack({
    name: options.name,
    postgres,
    redisUrl: env.redisUrl,
    dataDir: env.dataDir,
    ports: { temporal: options.temporalPort, http: options.httpPort, admin: options.adminPort },
    gameTimeScale: options.timeScale,
    ...(env.telegram ? { telegram: env.telegram } : {}),
    localRetention: LOCAL_RETENTION,
    binaries,
    cliPath,
    logLevel: env.logLevel,
    say,
  });
  shutdown.add('stack', () => stack.stop());
  for (const app of [stack.bot, stack.worker]) {
    app.onExit((code) => {
      if (shutdown.started) return;
      logger.error(
        { process: app.name, code },
        `the ${app.name} process exited on its own: stopping the stack`,
      );
      void shutdown.run(1);
    });
  }

  // The SDK's native connection: a grpc-js one left a retry timer behind an apply that timed
  // out, which threw "Channel has been shut down" once the stop had closed it.
  const connection = await NativeConnection.connect({ address: stack.temporal.address });
  shutdown.add('temporal connection', () => connection.close());
  const schedules = await applySchedules({
    client: new Client({
      connection,
      dataConverter: farmflowDataConverter(join(stack.dir, 'shared')),
    }),
    timeScale: options.timeScale,
    logger,
  });

  let playUrl: string | undefined;
  if (stack.telegram) {
    const players = createPlayerApi(stack.telegram, { maxPlayers: LOCAL_MAX_PLAYERS });
    const web = fastify();
    await web.register(webChatExtraRoutes({ players }));
    playUrl = await web.listen({ host: '127.0.0.1', port: options.playPort });
    shutdown.add('web chat', async () => {
      players.close();
      await web.close();
    });
  }

  const { main: db, visibility } = stackDatabases(options.name);
  say(
    [
      '',
      `farmflow stack "${options.name}" is running (Ctrl-C stops everything).`,
      ...(playUrl ? ['', `  Play in your browser: ${playUrl}/`, ''] : []),
      `  Temporal server:   ${stack.temporal.address}  (v${TEMPORAL_SERVER_VERSION}, ${HISTORY_SHARDS} history shards, pid ${stack.temporal.pid})`,
      `  PostgreSQL:        ${describeTarget(postgres)}  (databases ${db}, ${visibility})`,
      `  Bot process:       ${stack.urls.http}  (pid ${stack.bot.pid}; /healthz, /readyz; webhook ${stack.telegram ? 'from the local Bot API server' : 'registered with Telegram'})`,
      `  Admin API:         ${stack.urls.admin}/admin  (token: ${stack.adminToken}; the bot's metrics: ${stack.urls.admin}/metrics)`,
      `  Worker process:    pid ${stack.worker.pid}  (metrics and probes: ${stack.urls.workerMetrics}/metrics, /healthz, /readyz)`,
      `  Redis:             keys under "${stack.redisKeyPrefix}"`,
      `  Schedules:         ${schedules}`,
      `  Logs:              ${join(stack.dir, 'logs')}/{temporal,bot,worker,stack}.log`,
      `  Prometheus:        prometheus --config.file=${join(stack.dir, 'prometheus.yml')}  (scrapes both; farmflow's alert rules)`,
      `  Temporal CLI:      ${cliPath} --address ${stack.temporal.address} workflow list --query 'UserHash = "<support code>"'`,
      `  Start over:        npm run stack -- --name ${options.name} --reset`,
      '',
    ].join('\n'),
  );
}

main().then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`farmflow stack: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
