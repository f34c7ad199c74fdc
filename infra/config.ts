/**
 * The one place that reads the environment. Every process parses it once at start; an invalid
 * value stops the process with a message naming the variable.
 */
import { join, resolve } from 'node:path';
import { z } from 'zod';

const DEV_USER_HASH_SECRET = 'farmflow-local-development-secret-not-for-production';

/** Shorter tokens are guessable by people who can reach the admin listener. */
export const ADMIN_TOKEN_MIN_LENGTH = 32;

const emptyAsUndefined = (value: unknown): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/** Telegram's overall limit for one bot's messages (bot/outgoing.ts paces below it). */
export const TELEGRAM_GLOBAL_PER_SECOND = 30;
/** Notifications a second, all bot processes together: replies keep the other 10 of the 30. */
export const DEFAULT_NOTIFICATIONS_PER_SECOND = 20;

/** A bearer token as RFC 6750 spells one. */
const BEARER_TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;
const bearerToken = z
  .string()
  .min(ADMIN_TOKEN_MIN_LENGTH, {
    message: `must be at least ${ADMIN_TOKEN_MIN_LENGTH} characters (e.g. \`openssl rand -hex 32\`)`,
  })
  .regex(
    BEARER_TOKEN,
    'must be a bearer token: A-Z a-z 0-9 - . _ ~ + / (and = at the end), no spaces',
  );

/** A support token's name: who granted a compensation, in the player's timeline and the logs. */
export const SUPPORT_TOKEN_NAME = /^[a-z0-9][a-z0-9._-]{0,31}$/;
/** The admin token's name wherever a token's name is shown; no support token may take it. */
export const ADMIN_TOKEN_NAME = 'admin';

export interface NamedToken {
  name: string;
  token: string;
}

/** `name:token,name:token`: each name and each token once, none named like the admin token. */
const supportTokens = z.preprocess(
  emptyAsUndefined,
  z
    .string()
    .optional()
    .transform((text, ctx): NamedToken[] => {
      if (text === undefined) return [];
      const tokens: NamedToken[] = [];
      for (const [index, item] of text.split(',').entries()) {
        const at = `entry ${index + 1}`;
        const colon = item.indexOf(':');
        const name = item.slice(0, colon).trim();
        const token = item.slice(colon + 1).trim();
        if (colon < 0 || !SUPPORT_TOKEN_NAME.test(name)) {
          ctx.addIssue({
            code: 'custom',
            message: `${at}: expected name:token, the name 1-32 characters of a-z 0-9 . _ - (e.g. alice:$(openssl rand -hex 32))`,
          });
          continue;
        }
        const checked = bearerToken.safeParse(token);
        if (!checked.success) {
          ctx.addIssue({
            code: 'custom',
            message: `${name}'s token ${checked.error.issues[0]!.message}`,
          });
          continue;
        }
        if (name === ADMIN_TOKEN_NAME) {
          ctx.addIssue({
            code: 'custom',
            message: `"${ADMIN_TOKEN_NAME}" names the admin token: choose another name`,
          });
        } else if (tokens.some((t) => t.name === name)) {
          ctx.addIssue({ code: 'custom', message: `the name ${name} appears twice` });
        } else if (tokens.some((t) => t.token === token)) {
          ctx.addIssue({
            code: 'custom',
            message: `${name}'s token is another name's token too: give each person their own`,
          });
        } else tokens.push({ name, token });
      }
      return tokens;
    }),
);

/** The most coins one compensation may pay unless SUPPORT_GRANT_MAX_COINS says otherwise. */
export const DEFAULT_SUPPORT_GRANT_MAX_COINS = 1_000;

const optionalString = z.preprocess(emptyAsUndefined, z.string().optional());
const port = (fallback: number) =>
  z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(65535).default(fallback));

const envSchema = z.object({
  TEMPORAL_ADDRESS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[^\s:/]+:\d+$/, 'must be host:port, e.g. 127.0.0.1:7233')
      .optional(),
  ),
  TEMPORAL_NAMESPACE: z.preprocess(emptyAsUndefined, z.string().default('default')),
  TEMPORAL_CLI_PATH: optionalString,
  TEMPORAL_DEV_PORT: port(7233),
  TEMPORAL_UI_PORT: port(8233),
  DATA_DIR: z.preprocess(emptyAsUndefined, z.string().default('data')),
  SHARED_FILES_DIR: optionalString,
  REPORT_KEEP_HOURS: z.preprocess(
    emptyAsUndefined,
    z.coerce
      .number()
      .positive()
      .max(24 * 365)
      .default(24),
  ),
  PUBLIC_URL: z.preprocess(
    emptyAsUndefined,
    z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional(),
  ),
  REDIS_URL: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
      .default('redis://127.0.0.1:6379'),
  ),
  REDIS_KEY_PREFIX: z.preprocess(emptyAsUndefined, z.string().default('farmflow:')),
  HTTP_HOST: z.preprocess(emptyAsUndefined, z.string().default('127.0.0.1')),
  HTTP_PORT: port(3000),
  TELEGRAM_BOT_TOKEN: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^\d+:[\w-]+$/, 'does not look like a bot token from @BotFather (<digits>:<secret>)')
      .optional(),
  ),
  TELEGRAM_API_ROOT: z.preprocess(
    emptyAsUndefined,
    z.url({ message: 'must be a URL' }).default('https://api.telegram.org'),
  ),
  TELEGRAM_MODE: z.preprocess(emptyAsUndefined, z.enum(['webhook', 'polling']).optional()),
  TELEGRAM_WEBHOOK_URL: z.preprocess(
    emptyAsUndefined,
    z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional(),
  ),
  TELEGRAM_WEBHOOK_SECRET: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,256}$/, 'must be 1-256 characters of A-Z, a-z, 0-9, _ and -')
      .optional(),
  ),
  USER_HASH_SECRET: z.preprocess(
    emptyAsUndefined,
    z.string().min(16, 'must be at least 16 characters').optional(),
  ),
  ADMIN_TOKEN: z.preprocess(emptyAsUndefined, bearerToken.optional()),
  SUPPORT_TOKENS: supportTokens,
  SUPPORT_GRANT_MAX_COINS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).max(1_000_000).default(DEFAULT_SUPPORT_GRANT_MAX_COINS),
  ),
  TEMPORAL_UI_URL: z.preprocess(
    emptyAsUndefined,
    z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional(),
  ),
  ADMIN_HTTP_HOST: z.preprocess(emptyAsUndefined, z.string().default('127.0.0.1')),
  ADMIN_HTTP_PORT: port(3001),
  WORKER_METRICS_HOST: z.preprocess(emptyAsUndefined, z.string().default('127.0.0.1')),
  WORKER_METRICS_PORT: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).max(65535).optional(),
  ),
  WORKER_MAX_CACHED_WORKFLOWS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(2).max(1_000_000).optional(),
  ),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.preprocess(
    emptyAsUndefined,
    z
      .url({
        protocol: /^https?$/,
        message: 'must be an http(s) URL, e.g. http://otel-collector:4318',
      })
      .optional(),
  ),
  NOTIFICATIONS_PER_SECOND: z.preprocess(
    emptyAsUndefined,
    z.coerce
      .number()
      .positive()
      .lt(TELEGRAM_GLOBAL_PER_SECOND, {
        message: `must be below Telegram's ${TELEGRAM_GLOBAL_PER_SECOND} messages a second, so that replies keep a share`,
      })
      .default(DEFAULT_NOTIFICATIONS_PER_SECOND),
  ),
  GAME_TIME_SCALE: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().positive().max(1000).optional(),
  ),
  LOG_LEVEL: z.preprocess(
    emptyAsUndefined,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  ),
});

export type LogLevel = NonNullable<z.infer<typeof envSchema>['LOG_LEVEL']>;
type Env = z.infer<typeof envSchema>;
type Variable = keyof Env;

export interface Config {
  temporal: {
    /** Unset: the local launcher starts a dev server and fills this in. */
    address: string | undefined;
    namespace: string;
    cliPath: string | undefined;
    devPort: number;
    uiPort: number;
  };
  dataDir: string;
  /**
   * Files every bot and worker process shares (a volume in production): large payloads by
   * reference and finished reports. Default: DATA_DIR/shared.
   */
  sharedFilesDir: string;
  /** Farm reports: how long a finished picture is kept, and the public base of their links. */
  reports: { keepMs: number; publicUrl: string };
  redis: { url: string; keyPrefix: string };
  http: { host: string; port: number };
  /**
   * The admin HTTP API on a listener of its own, never the public one. Off (and its listener not
   * started) while `token` is unset; `npm start` generates one for its session.
   */
  admin: { token: string | undefined; host: string; port: number };
  /**
   * The support API and console on the admin listener (which also starts for these alone): the
   * named support tokens, the cap of one compensation, and where the Temporal Web UI is.
   */
  support: { tokens: NamedToken[]; grantMaxCoins: number; temporalUiUrl: string };
  /**
   * A worker process's own listener (`/metrics`, `/healthz`, `/readyz`); off while `port` is unset.
   * The bot serves its metrics on the admin listener.
   */
  workerMetrics: { host: string; port: number | undefined };
  /**
   * Farms a worker process keeps in its sticky cache; unset: the SDK's default, from the V8 heap
   * limit (README, capacity: about 0.4 MB of RSS each, measured by bench:scale).
   */
  workerMaxCachedWorkflows: number | undefined;
  /** Where spans go over OTLP (infra/tracing.ts); unset: traces off. */
  otlpEndpoint: string | undefined;
  telegram: {
    token: string | undefined;
    apiRoot: string;
    mode: 'webhook' | 'polling';
    webhookUrl: string | undefined;
    webhookSecret: string | undefined;
  };
  /**
   * Messages farms send on their own (crops ready, announcements, rewards), per second across
   * every bot process: the notifications queue's server-side rate and their share of the pacing.
   */
  notificationsPerSecond: number;
  userHashSecret: string;
  /** USER_HASH_SECRET was unset and the development secret stands in (only `npm start` allows it). */
  userHashSecretIsDevelopment: boolean;
  gameTimeScale: number;
  logLevel: LogLevel;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** What an entry point needs from the environment; the defaults suit tools and tests. */
export interface ConfigRequirements {
  /** Named in messages, e.g. "start:worker". */
  entryPoint?: string;
  /** `npm start` plays at a lively pace; production entry points keep real time (1). */
  gameTimeScale?: number;
  /**
   * The default when TEMPORAL_ADDRESS is unset too, for a tool that then talks to `npm start`'s
   * local dev server: it builds what it compares with the scale `npm start` plays at.
   */
  localGameTimeScale?: number;
  /** LOG_LEVEL when unset (info): a command-line tool keeps its terminal for its output. */
  logLevel?: LogLevel;
  /** A production process reaches an existing Temporal (no local dev server). */
  temporalAddress?: 'required' | 'optional';
  /**
   * 'required': calls the Bot API and needs the token; 'optional': uses it when set (`npm start`
   * plays locally without one); 'ignored': never calls the Bot API, so no TELEGRAM_* variable is
   * read and none can stop it from starting.
   */
  telegram?: 'required' | 'optional' | 'ignored';
  /**
   * 'required': every production process (support codes and sealed chat ids must agree between
   * processes); 'development': falls back to a built-in development secret unless a bot token is set.
   */
  userHashSecret?: 'required' | 'development';
  /** 'ignored': serves no admin API, so no ADMIN_* variable is read and none can stop it. */
  admin?: 'optional' | 'ignored';
  /**
   * A tool that needs a few variables reads only these; every other one gets its default,
   * whatever the environment holds, so that none it does not use can stop it.
   */
  reads?: readonly Variable[];
}

/** The pace `npm start` plays at (GAME_TIME_SCALE unset): minutes become seconds. */
const LOCAL_GAME_TIME_SCALE = 0.01;

/** A command-line tool: reads Temporal and Redis, never serves or calls Telegram. */
const TOOL = {
  temporalAddress: 'optional',
  telegram: 'ignored',
  userHashSecret: 'development',
  logLevel: 'warn',
  admin: 'ignored',
} as const;

/** The requirements of each entry point. */
export const ENTRY_POINTS = {
  /** `npm start`: everything in one process, a local dev server and Bot API when unset. */
  local: {
    entryPoint: 'npm start',
    gameTimeScale: LOCAL_GAME_TIME_SCALE,
    temporalAddress: 'optional',
    telegram: 'optional',
    userHashSecret: 'development',
  },
  /** `npm run start:bot`. */
  bot: {
    entryPoint: 'start:bot',
    temporalAddress: 'required',
    telegram: 'required',
    userHashSecret: 'required',
  },
  /** `npm run start:worker`: farms and their activities; it never calls the Bot API (yet). */
  worker: {
    entryPoint: 'start:worker',
    temporalAddress: 'required',
    telegram: 'ignored',
    userHashSecret: 'required',
    admin: 'ignored',
  },
  /**
   * `npm run schedules`: the designers' CLI. Temporal only: without TEMPORAL_ADDRESS it talks to
   * `npm start`'s local dev server, at `npm start`'s time scale.
   */
  schedules: {
    ...TOOL,
    entryPoint: 'npm run schedules',
    localGameTimeScale: LOCAL_GAME_TIME_SCALE,
    reads: [
      'TEMPORAL_ADDRESS',
      'TEMPORAL_NAMESPACE',
      'TEMPORAL_DEV_PORT',
      'DATA_DIR',
      'SHARED_FILES_DIR',
      'GAME_TIME_SCALE',
      'LOG_LEVEL',
      // An announcement's expected duration.
      'NOTIFICATIONS_PER_SECOND',
      // `world`, a grant's `--dry-run` and an announcement's audience only.
      'REDIS_URL',
      'REDIS_KEY_PREFIX',
    ],
  },
  /**
   * `npm run support`: a player's story from Temporal and Redis, as the console shows it. It
   * needs no token: whoever runs it can reach Temporal and Redis already.
   */
  support: {
    ...TOOL,
    entryPoint: 'npm run support',
    reads: [
      'TEMPORAL_ADDRESS',
      'TEMPORAL_NAMESPACE',
      'TEMPORAL_DEV_PORT',
      'TEMPORAL_UI_PORT',
      'TEMPORAL_UI_URL',
      'DATA_DIR',
      'SHARED_FILES_DIR',
      'REDIS_URL',
      'REDIS_KEY_PREFIX',
      'LOG_LEVEL',
    ],
  },
} as const satisfies Record<string, ConfigRequirements>;

const TELEGRAM_VARIABLES = new Set<Variable>([
  'TELEGRAM_BOT_TOKEN',
  'TELEGRAM_API_ROOT',
  'TELEGRAM_MODE',
  'TELEGRAM_WEBHOOK_URL',
  'TELEGRAM_WEBHOOK_SECRET',
]);

const ADMIN_VARIABLES = new Set<Variable>([
  'ADMIN_TOKEN',
  'ADMIN_HTTP_HOST',
  'ADMIN_HTTP_PORT',
  'SUPPORT_TOKENS',
  'SUPPORT_GRANT_MAX_COINS',
]);

/** Hosts that accept connections on every interface, so they share ports with any host. */
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);
const isLoopback = (host: string) =>
  host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);

/** Two listeners on these hosts could be the same socket. */
function sameHost(a: string, b: string): boolean {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  return (
    x === y || WILDCARD_HOSTS.has(x) || WILDCARD_HOSTS.has(y) || (isLoopback(x) && isLoopback(y))
  );
}

/**
 * Parses the whole environment and reports every problem in one list: each variable is checked
 * on its own, then the rules between variables run on whatever parsed, so a missing variable is
 * never hidden behind an invalid one.
 */
export function parseConfig(
  env: Record<string, string | undefined>,
  requirements: ConfigRequirements = {},
): Config {
  const telegramUse = requirements.telegram ?? 'optional';
  const problems: string[] = [];
  const invalid = new Set<Variable>();
  const values: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(envSchema.shape) as [Variable, z.ZodType][]) {
    // Ignored variables get their defaults, whatever the environment holds.
    const ignored =
      (telegramUse === 'ignored' && TELEGRAM_VARIABLES.has(name)) ||
      (requirements.admin === 'ignored' && ADMIN_VARIABLES.has(name)) ||
      (requirements.reads !== undefined && !requirements.reads.includes(name));
    const raw = ignored ? undefined : env[name];
    const parsed = schema.safeParse(raw);
    if (parsed.success) values[name] = parsed.data;
    else {
      invalid.add(name);
      for (const issue of parsed.error.issues) problems.push(`${name}: ${issue.message}`);
    }
  }
  const e = values as Env;
  const missing = (name: Variable, why: string) => {
    if (!invalid.has(name) && e[name] === undefined) problems.push(`${name}: ${why}`);
  };
  const by = requirements.entryPoint ? ` by ${requirements.entryPoint}` : '';

  if (requirements.temporalAddress === 'required') {
    missing(
      'TEMPORAL_ADDRESS',
      `required${by} (host:port of Temporal; npm start runs one locally)`,
    );
  }
  if (telegramUse === 'required') {
    missing('TELEGRAM_BOT_TOKEN', `required${by} (npm start plays locally without one)`);
  }
  if (requirements.userHashSecret === 'required') {
    missing(
      'USER_HASH_SECRET',
      `required${by}: every process must derive support codes and open sealed chat ids with the same secret`,
    );
  } else if (e.TELEGRAM_BOT_TOKEN !== undefined || invalid.has('TELEGRAM_BOT_TOKEN')) {
    missing(
      'USER_HASH_SECRET',
      'required when TELEGRAM_BOT_TOKEN is set (a built-in secret would make support codes guessable)',
    );
  }
  const webhookUrlGiven =
    e.TELEGRAM_WEBHOOK_URL !== undefined || invalid.has('TELEGRAM_WEBHOOK_URL');
  const mode = e.TELEGRAM_MODE ?? (webhookUrlGiven ? 'webhook' : 'polling');
  if (!invalid.has('TELEGRAM_MODE') && mode === 'webhook') {
    missing('TELEGRAM_WEBHOOK_URL', 'required when TELEGRAM_MODE is webhook');
    missing('TELEGRAM_WEBHOOK_SECRET', 'required in webhook mode');
  }
  // Only a running admin listener can clash: without a token it never starts.
  const adminPortKnown = !invalid.has('ADMIN_HTTP_PORT') && !invalid.has('HTTP_PORT');
  const adminListens =
    e.ADMIN_TOKEN !== undefined || (e.SUPPORT_TOKENS !== undefined && e.SUPPORT_TOKENS.length > 0);
  if (e.ADMIN_TOKEN !== undefined && e.SUPPORT_TOKENS?.some((t) => t.token === e.ADMIN_TOKEN)) {
    problems.push('SUPPORT_TOKENS: a support token must differ from ADMIN_TOKEN');
  }
  if (
    adminListens &&
    adminPortKnown &&
    e.ADMIN_HTTP_PORT === e.HTTP_PORT &&
    sameHost(e.ADMIN_HTTP_HOST, e.HTTP_HOST)
  ) {
    problems.push(
      `ADMIN_HTTP_PORT: must differ from HTTP_PORT (${e.HTTP_PORT}) on the same host: the admin API is never served on the public port`,
    );
  }
  // A worker and a bot on one host with one environment: their listeners must not meet.
  if (e.WORKER_METRICS_PORT !== undefined && !invalid.has('WORKER_METRICS_PORT')) {
    const taken = [
      { name: 'HTTP_PORT', port: e.HTTP_PORT, host: e.HTTP_HOST },
      { name: 'ADMIN_HTTP_PORT', port: e.ADMIN_HTTP_PORT, host: e.ADMIN_HTTP_HOST },
    ].find(
      ({ name, port, host }) =>
        !invalid.has(name as Variable) &&
        port === e.WORKER_METRICS_PORT &&
        sameHost(host, e.WORKER_METRICS_HOST),
    );
    if (taken) {
      problems.push(
        `WORKER_METRICS_PORT: must differ from ${taken.name} (${taken.port}) on the same host: it is the bot's`,
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      cliPath: e.TEMPORAL_CLI_PATH,
      devPort: e.TEMPORAL_DEV_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
    },
    dataDir: e.DATA_DIR,
    // Absolute: a process started in another folder must find the same files as the others.
    sharedFilesDir: resolve(e.SHARED_FILES_DIR ?? join(e.DATA_DIR, 'shared')),
    reports: {
      keepMs: Math.round(e.REPORT_KEEP_HOURS * 3_600_000),
      publicUrl: (
        e.PUBLIC_URL ??
        (e.TELEGRAM_WEBHOOK_URL ? new URL(e.TELEGRAM_WEBHOOK_URL).origin : undefined) ??
        `http://${isLoopback(e.HTTP_HOST) || WILDCARD_HOSTS.has(e.HTTP_HOST) ? '127.0.0.1' : e.HTTP_HOST}:${e.HTTP_PORT}`
      ).replace(/\/+$/, ''),
    },
    redis: { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX },
    http: { host: e.HTTP_HOST, port: e.HTTP_PORT },
    admin: { token: e.ADMIN_TOKEN, host: e.ADMIN_HTTP_HOST, port: e.ADMIN_HTTP_PORT },
    support: {
      tokens: e.SUPPORT_TOKENS,
      grantMaxCoins: e.SUPPORT_GRANT_MAX_COINS,
      temporalUiUrl: (e.TEMPORAL_UI_URL ?? `http://127.0.0.1:${e.TEMPORAL_UI_PORT}`).replace(
        /\/+$/,
        '',
      ),
    },
    workerMetrics: { host: e.WORKER_METRICS_HOST, port: e.WORKER_METRICS_PORT },
    workerMaxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    telegram: {
      token: e.TELEGRAM_BOT_TOKEN,
      apiRoot: e.TELEGRAM_API_ROOT.replace(/\/+$/, ''),
      mode,
      webhookUrl: e.TELEGRAM_WEBHOOK_URL,
      webhookSecret: e.TELEGRAM_WEBHOOK_SECRET,
    },
    notificationsPerSecond: e.NOTIFICATIONS_PER_SECOND,
    userHashSecret: e.USER_HASH_SECRET ?? DEV_USER_HASH_SECRET,
    userHashSecretIsDevelopment: e.USER_HASH_SECRET === undefined,
    gameTimeScale:
      e.GAME_TIME_SCALE ??
      (e.TEMPORAL_ADDRESS === undefined ? requirements.localGameTimeScale : undefined) ??
      requirements.gameTimeScale ??
      1,
    logLevel: e.LOG_LEVEL ?? requirements.logLevel ?? 'info',
  };
}

/**
 * Entry points call this once, before connecting anywhere: on invalid configuration it prints
 * every problem and exits with status 2, so a process never runs half-configured.
 */
export function loadConfig(requirements: ConfigRequirements = {}): Config {
  try {
    return parseConfig(process.env, requirements);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`farmflow: ${err.message}\nSee .env.example for every variable.\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** Every variable the configuration reads; docker-compose.yml and .env.example are checked against it. */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape) as (keyof typeof envSchema.shape)[];

/** For tools that only need the Temporal CLI (CI, benchmarks): the rest of the config may be unset. */
export function loadTemporalCliPath(env: Record<string, string | undefined> = process.env) {
  return envSchema.shape.TEMPORAL_CLI_PATH.parse(env.TEMPORAL_CLI_PATH);
}

/** `npm run stack` and `npm run chaos`: the services they start the app against. */
const stackEnvSchema = z.object({
  POSTGRES_URL: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(
        /^postgres(ql)?:\/\//,
        'must start with postgres://, e.g. postgres://postgres@127.0.0.1:5432/postgres',
      )
      .default('postgres://postgres@127.0.0.1:5432/postgres'),
  ),
  REDIS_URL: envSchema.shape.REDIS_URL,
  DATA_DIR: envSchema.shape.DATA_DIR,
  TEMPORAL_CLI_PATH: envSchema.shape.TEMPORAL_CLI_PATH,
  TELEGRAM_BOT_TOKEN: envSchema.shape.TELEGRAM_BOT_TOKEN,
  TELEGRAM_API_ROOT: envSchema.shape.TELEGRAM_API_ROOT,
  TELEGRAM_WEBHOOK_URL: envSchema.shape.TELEGRAM_WEBHOOK_URL,
  TELEGRAM_WEBHOOK_SECRET: envSchema.shape.TELEGRAM_WEBHOOK_SECRET,
  LOG_LEVEL: envSchema.shape.LOG_LEVEL,
});

export interface StackEnv {
  postgresUrl: string;
  redisUrl: string;
  dataDir: string;
  cliPath: string | undefined;
  /** A real bot for the stack's bot process; absent: the local Bot API server. */
  telegram?: { token: string; apiRoot: string; webhookUrl: string; webhookSecret: string };
  logLevel: LogLevel;
}

export function parseStackEnv(env: Record<string, string | undefined>): StackEnv {
  const parsed = stackEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`),
    );
  }
  const e = parsed.data;
  const base = {
    postgresUrl: e.POSTGRES_URL,
    redisUrl: e.REDIS_URL,
    dataDir: e.DATA_DIR,
    cliPath: e.TEMPORAL_CLI_PATH,
    logLevel: e.LOG_LEVEL ?? 'info',
  };
  if (!e.TELEGRAM_BOT_TOKEN) return base;
  if (!e.TELEGRAM_WEBHOOK_URL || !e.TELEGRAM_WEBHOOK_SECRET) {
    throw new ConfigError([
      'TELEGRAM_BOT_TOKEN is set: the stack runs its bot in webhook mode, so set TELEGRAM_WEBHOOK_URL (HTTPS, reaching the bot port) and TELEGRAM_WEBHOOK_SECRET too, or unset the token to play through the local Bot API server',
    ]);
  }
  return {
    ...base,
    telegram: {
      token: e.TELEGRAM_BOT_TOKEN,
      apiRoot: e.TELEGRAM_API_ROOT,
      webhookUrl: e.TELEGRAM_WEBHOOK_URL,
      webhookSecret: e.TELEGRAM_WEBHOOK_SECRET,
    },
  };
}
