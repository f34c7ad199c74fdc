/**
 * The production topology on one machine: the Temporal server on PostgreSQL (./temporal-server.ts),
 * then the bot and the worker as separate processes (./app-process.ts) against it and Redis,
 * with the local Bot API server in this process unless a real bot token is given. `npm run stack`
 * (./main.ts) and the chaos play (dev/chaos/) start it the same way.
 *
 * A stack has a name; everything it creates is named after it: the databases `<name>` and
 * `<name>_visibility`, the folder `DATA_DIR/stacks/<name>/` (server config, logs, the stack's
 * secrets, shared files) and the Redis prefix `<name>:`. Its secrets are kept there, so a stack
 * started again finds its farms.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { WEBHOOK_PATH } from '../../bot/routes/webhook';
import { type Retention, startTestBotApi, type TestBotApi } from '../bot-api';
import { LOCAL_BOT_TOKEN } from '../start/telegram';
import { freePort } from '../temporal/server';
import { type AppProcess, appProcess } from './app-process';
import { checkPostgres, DATABASE_NAME, dropDatabases, type PostgresTarget } from './postgres';
import {
  startTemporalServer,
  type TemporalBinaries,
  type TemporalDatabases,
  type TemporalServer,
  setUpSchema,
} from './temporal-server';

export const STACK_NAME = /^[a-z][a-z0-9_]{0,39}$/;
const REPO = resolve(__dirname, '../..');

/** Variables of the person's environment the app processes never inherit. */
const WITHHELD = /^(TELEGRAM_|ADMIN_|SUPPORT_TOKENS$|POSTGRES_URL$|WORKER_METRICS_)/;

export interface StackOptions {
  /** Lowercase letters, digits and `_`: it names databases. */
  name: string;
  postgres: PostgresTarget;
  redisUrl: string;
  dataDir: string;
  /** 0 picks a free port. */
  /** 0 or absent: a free port. */
  ports: { temporal: number; http: number; admin: number; workerMetrics?: number };
  gameTimeScale: number;
  /** A real bot (webhook URL and secret needed); absent: the local Bot API server. */
  telegram?: { token: string; apiRoot: string; webhookUrl: string; webhookSecret: string };
  /** What the local Bot API server keeps (a long-running stack bounds it). */
  localRetention?: Retention;
  binaries: TemporalBinaries;
  cliPath: string;
  logLevel: string;
  /** Variables for both app processes, over the stack's own. */
  env?: NodeJS.ProcessEnv;
  say: (line: string) => void;
}

export interface Stack {
  name: string;
  dir: string;
  databases: TemporalDatabases;
  redisKeyPrefix: string;
  userHashSecret: string;
  adminToken: string;
  temporal: TemporalServer;
  bot: AppProcess;
  worker: AppProcess;
  /** The local Bot API server; absent with a real bot token. */
  telegram: TestBotApi | undefined;
  /** The bot's public and admin listeners (the bot's /metrics), the worker's /metrics and probes. */
  urls: { http: string; admin: string; workerMetrics: string };
  logs: { temporal: string; bot: string; worker: string };
  /** Bot, then worker, then the local Bot API server, then the Temporal server. */
  stop(): Promise<void>;
}

interface StackSecrets {
  userHashSecret: string;
  adminToken: string;
  webhookSecret: string;
}

export function stackDir(dataDir: string, name: string): string {
  return resolve(dataDir, 'stacks', name);
}

export function stackDatabases(name: string): TemporalDatabases {
  return { main: name, visibility: `${name}_visibility` };
}

function checkName(name: string) {
  if (!STACK_NAME.test(name)) {
    throw new Error(
      `stack name ${JSON.stringify(name)}: use 1-40 lowercase letters, digits and _, starting with a letter (it names databases)`,
    );
  }
  const { visibility } = stackDatabases(name);
  if (!DATABASE_NAME.test(visibility)) throw new Error(`stack name ${name} is too long`);
}

/**
 * `prometheus.yml` in the stack's folder: deploy/prometheus/prometheus.yml with this stack's ports,
 * for a Prometheus on this machine (README "Observability").
 */
function writePrometheusConfig(dir: string, adminPort: number, workerMetricsPort: number) {
  const config = {
    global: { scrape_interval: '5s', evaluation_interval: '5s' },
    rule_files: [join(REPO, 'deploy/prometheus/alerts.yml')],
    scrape_configs: [
      { job_name: 'farmflow-bot', static_configs: [{ targets: [`127.0.0.1:${adminPort}`] }] },
      {
        job_name: 'farmflow-worker',
        static_configs: [{ targets: [`127.0.0.1:${workerMetricsPort}`] }],
      },
    ],
  };
  // JSON is YAML.
  writeFileSync(join(dir, 'prometheus.yml'), `${JSON.stringify(config, null, 2)}\n`);
}

/** Created on the stack's first start and kept (mode 0600): the farms depend on the secret. */
function loadSecrets(dir: string): StackSecrets {
  const file = join(dir, 'secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as StackSecrets;
  const secrets = {
    userHashSecret: randomBytes(24).toString('base64url'),
    adminToken: randomBytes(24).toString('hex'),
    webhookSecret: randomBytes(24).toString('base64url'),
  };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  checkName(options.name);
  const { say } = options;
  await checkPostgres(options.postgres);
  const dir = stackDir(options.dataDir, options.name);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const secrets = loadSecrets(dir);
  const databases = stackDatabases(options.name);
  const logs = {
    temporal: join(dir, 'logs', 'temporal.log'),
    bot: join(dir, 'logs', 'bot.log'),
    worker: join(dir, 'logs', 'worker.log'),
  };
  const undo: (() => Promise<unknown>)[] = [];
  const rollback = async () => {
    for (const step of undo.splice(0).reverse()) await step().catch(() => undefined);
  };

  try {
    say(`Setting up databases ${databases.main} and ${databases.visibility}…`);
    await setUpSchema(options.binaries.sql, options.postgres, databases, (text) =>
      writeFileSync(join(dir, 'logs', 'schema.log'), text),
    );
    const temporal = await startTemporalServer({
      binaries: options.binaries,
      cliPath: options.cliPath,
      postgres: options.postgres,
      databases,
      dir: join(dir, 'temporal'),
      logFile: logs.temporal,
      namespace: 'default',
      port: options.ports.temporal,
      say,
    });
    undo.push(() => temporal.stop());

    const httpPort = options.ports.http || (await freePort());
    const adminPort = options.ports.admin || (await freePort());
    const workerMetricsPort = options.ports.workerMetrics || (await freePort());
    writePrometheusConfig(dir, adminPort, workerMetricsPort);
    const http = `http://127.0.0.1:${httpPort}`;
    let telegram: TestBotApi | undefined;
    let bot = options.telegram;
    if (!bot) {
      telegram = await startTestBotApi({
        token: LOCAL_BOT_TOKEN,
        botInfo: { first_name: 'farmflow', username: 'farmflow_local_bot' },
        acceptUnknownChats: true,
        ...(options.localRetention ? { retention: options.localRetention } : {}),
      });
      const api = telegram;
      undo.push(() => api.close());
      bot = {
        token: LOCAL_BOT_TOKEN,
        apiRoot: telegram.url,
        webhookUrl: `${http}${WEBHOOK_PATH}`,
        webhookSecret: secrets.webhookSecret,
      };
    }

    const redisKeyPrefix = `${options.name}:`;
    // The person's environment minus what the stack decides and what a process must not see: the
    // worker never gets Telegram's or the admin API's secrets, nor PostgreSQL's URL.
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !WITHHELD.test(name)),
    );
    const common: NodeJS.ProcessEnv = {
      ...inherited,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: 'default',
      REDIS_URL: options.redisUrl,
      REDIS_KEY_PREFIX: redisKeyPrefix,
      DATA_DIR: join(dir, 'data'),
      SHARED_FILES_DIR: join(dir, 'shared'),
      USER_HASH_SECRET: secrets.userHashSecret,
      GAME_TIME_SCALE: String(options.gameTimeScale),
      LOG_LEVEL: options.logLevel,
      ...options.env,
    };
    const worker = appProcess({
      name: 'worker',
      env: {
        ...common,
        WORKER_METRICS_HOST: '127.0.0.1',
        WORKER_METRICS_PORT: String(workerMetricsPort),
      },
      logFile: logs.worker,
      readyMessage: 'worker process ready',
    });
    const botProcess = appProcess({
      name: 'bot',
      env: {
        ...common,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: String(httpPort),
        ADMIN_HTTP_HOST: '127.0.0.1',
        ADMIN_HTTP_PORT: String(adminPort),
        ADMIN_TOKEN: secrets.adminToken,
        TELEGRAM_BOT_TOKEN: bot.token,
        TELEGRAM_API_ROOT: bot.apiRoot,
        TELEGRAM_MODE: 'webhook',
        TELEGRAM_WEBHOOK_URL: bot.webhookUrl,
        TELEGRAM_WEBHOOK_SECRET: bot.webhookSecret,
      },
      logFile: logs.bot,
      readyMessage: 'bot process ready',
      ready: async () => (await fetch(`${http}/readyz`, { signal: AbortSignal.timeout(3000) })).ok,
    });
    say('Starting the worker and the bot…');
    await worker.start();
    undo.push(() => worker.stop());
    await botProcess.start();
    undo.push(() => botProcess.stop());

    return {
      name: options.name,
      dir,
      databases,
      redisKeyPrefix,
      userHashSecret: secrets.userHashSecret,
      adminToken: secrets.adminToken,
      temporal,
      bot: botProcess,
      worker,
      telegram,
      urls: {
        http,
        admin: `http://127.0.0.1:${adminPort}`,
        workerMetrics: `http://127.0.0.1:${workerMetricsPort}`,
      },
      logs,
      stop: rollback,
    };
  } catch (err) {
    await rollback();
    throw err;
  }
}

/**
 * Drops everything a stopped stack created: its databases, its folder and its Redis keys (the
 * caller deletes those: it holds the Redis connection).
 */
export async function dropStack(options: {
  name: string;
  postgres: PostgresTarget;
  dataDir: string;
}): Promise<void> {
  checkName(options.name);
  const { main, visibility } = stackDatabases(options.name);
  await dropDatabases(options.postgres, [main, visibility]);
  rmSync(stackDir(options.dataDir, options.name), { recursive: true, force: true });
}
