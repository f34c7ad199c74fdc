import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_VARIABLES,
  ConfigError,
  ENTRY_POINTS,
  loadTemporalCliPath,
  parseConfig,
  type Config,
} from '../../infra/config';

type Env = Record<string, string | undefined>;

const TOKEN = '123456789:AAH-abc_DEF123';
const SECRET = 'a-user-hash-secret-of-32-chars!!';
const WEBHOOK_URL = 'https://farm.example.com/telegram';
const WEBHOOK_SECRET = 'webhook_Secret-123';
const ADMIN_TOKEN = 'an-admin-token-of-at-least-32-chars';
const SUPPORT_TOKEN = 'a-support-token-of-at-least-32-chars';

const DEFAULTS: Config = {
  temporal: {
    address: undefined,
    namespace: 'default',
    cliPath: undefined,
    devPort: 7233,
    uiPort: 8233,
  },
  dataDir: 'data',
  sharedFilesDir: resolve('data/shared'),
  reports: { keepMs: 24 * 3_600_000, publicUrl: 'http://127.0.0.1:3000' },
  redis: { url: 'redis://127.0.0.1:6379', keyPrefix: 'farmflow:' },
  http: { host: '127.0.0.1', port: 3000 },
  admin: { token: undefined, host: '127.0.0.1', port: 3001 },
  support: { tokens: [], grantMaxCoins: 1000, temporalUiUrl: 'http://127.0.0.1:8233' },
  workerMetrics: { host: '127.0.0.1', port: undefined },
  workerMaxCachedWorkflows: undefined,
  otlpEndpoint: undefined,
  telegram: {
    token: undefined,
    apiRoot: 'https://api.telegram.org',
    mode: 'polling',
    webhookUrl: undefined,
    webhookSecret: undefined,
  },
  notificationsPerSecond: 20,
  userHashSecret: expect.any(String) as string,
  userHashSecretIsDevelopment: true,
  gameTimeScale: 1,
  logLevel: 'info',
};

/** The problems parseConfig reports; fails the test when it accepts the environment. */
function problemsOf(env: Env): string[] {
  try {
    parseConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error(`parseConfig accepted ${JSON.stringify(env)}`);
}

function problemsOfEntry(env: Env, entry: Parameters<typeof parseConfig>[1]): string[] {
  try {
    parseConfig(env, entry);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error(`parseConfig accepted ${JSON.stringify(env)}`);
}

/** Rejected, and every problem names `variable` first, as the process prints it. */
function expectRejected(variable: string, value: string, extra: Env = {}) {
  const problems = problemsOf({ ...extra, [variable]: value });
  expect(problems.length).toBeGreaterThan(0);
  for (const problem of problems) expect(problem).toMatch(new RegExp(`^${variable}: \\S`));
}

describe('config: defaults', () => {
  it('an empty environment gives the documented defaults and a development hash secret', () => {
    const config = parseConfig({});
    expect(config).toEqual(DEFAULTS);
    expect(config.userHashSecret.length).toBeGreaterThanOrEqual(16);
  });

  it('ignores variables it does not read', () => {
    expect(parseConfig({ PATH: '/usr/bin', HOME: '/root', FARMFLOW_UNKNOWN: 'x' })).toEqual(
      DEFAULTS,
    );
  });

  it('reads every variable when set', () => {
    const config = parseConfig({
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_NAMESPACE: 'farms',
      TEMPORAL_CLI_PATH: '/opt/temporal/bin/temporal',
      TEMPORAL_DEV_PORT: '17233',
      TEMPORAL_UI_PORT: '18233',
      DATA_DIR: '/var/lib/farmflow',
      SHARED_FILES_DIR: '/mnt/farmflow-shared',
      REPORT_KEEP_HOURS: '1.5',
      REDIS_URL: 'rediss://user:pass@redis.example.com:6380/2',
      REDIS_KEY_PREFIX: 'ff-test:',
      HTTP_HOST: '0.0.0.0',
      HTTP_PORT: '8080',
      ADMIN_TOKEN: ADMIN_TOKEN,
      SUPPORT_TOKENS: `alice:${SUPPORT_TOKEN}, bob.k:${SUPPORT_TOKEN}b`,
      SUPPORT_GRANT_MAX_COINS: '250',
      TEMPORAL_UI_URL: 'https://temporal.example.com/',
      ADMIN_HTTP_HOST: '10.0.0.7',
      ADMIN_HTTP_PORT: '9090',
      WORKER_METRICS_HOST: '0.0.0.0',
      WORKER_METRICS_PORT: '9464',
      WORKER_MAX_CACHED_WORKFLOWS: '3000',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: 'http://127.0.0.1:8081/',
      TELEGRAM_MODE: 'webhook',
      TELEGRAM_WEBHOOK_URL: WEBHOOK_URL,
      TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
      USER_HASH_SECRET: SECRET,
      GAME_TIME_SCALE: '0.5',
      LOG_LEVEL: 'debug',
      NOTIFICATIONS_PER_SECOND: '12.5',
    });
    expect(config).toEqual({
      temporal: {
        address: 'temporal:7233',
        namespace: 'farms',
        cliPath: '/opt/temporal/bin/temporal',
        devPort: 17233,
        uiPort: 18233,
      },
      dataDir: '/var/lib/farmflow',
      sharedFilesDir: '/mnt/farmflow-shared',
      // No PUBLIC_URL: the webhook's origin, where Telegram reaches this server too.
      reports: { keepMs: 5_400_000, publicUrl: 'https://farm.example.com' },
      redis: { url: 'rediss://user:pass@redis.example.com:6380/2', keyPrefix: 'ff-test:' },
      http: { host: '0.0.0.0', port: 8080 },
      admin: { token: ADMIN_TOKEN, host: '10.0.0.7', port: 9090 },
      support: {
        tokens: [
          { name: 'alice', token: SUPPORT_TOKEN },
          { name: 'bob.k', token: `${SUPPORT_TOKEN}b` },
        ],
        grantMaxCoins: 250,
        temporalUiUrl: 'https://temporal.example.com',
      },
      workerMetrics: { host: '0.0.0.0', port: 9464 },
      workerMaxCachedWorkflows: 3000,
      otlpEndpoint: 'http://otel-collector:4318',
      telegram: {
        token: TOKEN,
        apiRoot: 'http://127.0.0.1:8081',
        mode: 'webhook',
        webhookUrl: WEBHOOK_URL,
        webhookSecret: WEBHOOK_SECRET,
      },
      notificationsPerSecond: 12.5,
      userHashSecret: SECRET,
      userHashSecretIsDevelopment: false,
      gameTimeScale: 0.5,
      logLevel: 'debug',
    } satisfies Config);
  });

  it('CONFIG_VARIABLES lists exactly the variables read above', () => {
    expect([...CONFIG_VARIABLES].sort()).toEqual(
      [
        'ADMIN_HTTP_HOST',
        'ADMIN_HTTP_PORT',
        'ADMIN_TOKEN',
        'DATA_DIR',
        'GAME_TIME_SCALE',
        'HTTP_HOST',
        'HTTP_PORT',
        'LOG_LEVEL',
        'NOTIFICATIONS_PER_SECOND',
        'OTEL_EXPORTER_OTLP_ENDPOINT',
        'PUBLIC_URL',
        'REDIS_KEY_PREFIX',
        'REDIS_URL',
        'REPORT_KEEP_HOURS',
        'SHARED_FILES_DIR',
        'SUPPORT_GRANT_MAX_COINS',
        'SUPPORT_TOKENS',
        'TELEGRAM_API_ROOT',
        'TELEGRAM_BOT_TOKEN',
        'TELEGRAM_MODE',
        'TELEGRAM_WEBHOOK_SECRET',
        'TELEGRAM_WEBHOOK_URL',
        'TEMPORAL_ADDRESS',
        'TEMPORAL_CLI_PATH',
        'TEMPORAL_DEV_PORT',
        'TEMPORAL_NAMESPACE',
        'TEMPORAL_UI_PORT',
        'TEMPORAL_UI_URL',
        'USER_HASH_SECRET',
        'WORKER_MAX_CACHED_WORKFLOWS',
        'WORKER_METRICS_HOST',
        'WORKER_METRICS_PORT',
      ].sort(),
    );
  });
});

describe('config: invalid values are rejected with a message naming the variable', () => {
  it.each(['HTTP_PORT', 'ADMIN_HTTP_PORT', 'TEMPORAL_DEV_PORT', 'TEMPORAL_UI_PORT'])(
    '%s: bad ports',
    (variable) => {
      for (const value of ['0', '-1', '65536', '80.5', 'abc', '3000abc']) {
        expectRejected(variable, value);
      }
      expect(parseConfig({ HTTP_PORT: '1' }).http.port).toBe(1);
      expect(parseConfig({ HTTP_PORT: '65535' }).http.port).toBe(65535);
    },
  );

  it('TEMPORAL_ADDRESS must be host:port', () => {
    for (const value of [
      'localhost',
      'localhost:',
      ':7233',
      'localhost:port',
      'http://localhost:7233',
      'temporal host:7233',
    ]) {
      expectRejected('TEMPORAL_ADDRESS', value);
    }
    expect(problemsOf({ TEMPORAL_ADDRESS: 'localhost' })).toEqual([
      'TEMPORAL_ADDRESS: must be host:port, e.g. 127.0.0.1:7233',
    ]);
    expect(parseConfig({ TEMPORAL_ADDRESS: '10.0.0.5:7233' }).temporal.address).toBe(
      '10.0.0.5:7233',
    );
  });

  it('REDIS_URL must be a redis:// or rediss:// URL', () => {
    for (const value of ['127.0.0.1:6379', 'http://127.0.0.1:6379', 'redis:/x', 'REDIS']) {
      expectRejected('REDIS_URL', value);
    }
    expect(problemsOf({ REDIS_URL: '127.0.0.1:6379' })).toEqual([
      'REDIS_URL: must start with redis:// or rediss://',
    ]);
  });

  it('TELEGRAM_BOT_TOKEN must look like a token from @BotFather', () => {
    for (const value of ['abc', '123456789', ':secret', 'bot123:secret', '123:sec ret', '123:']) {
      expectRejected('TELEGRAM_BOT_TOKEN', value, { USER_HASH_SECRET: SECRET });
    }
    expect(problemsOf({ TELEGRAM_BOT_TOKEN: 'abc', USER_HASH_SECRET: SECRET })[0]).toMatch(
      /@BotFather/,
    );
  });

  it('GAME_TIME_SCALE must be a positive number up to 1000', () => {
    for (const value of ['0', '-1', 'abc', '1001', 'Infinity', 'NaN']) {
      expectRejected('GAME_TIME_SCALE', value);
    }
    expect(parseConfig({ GAME_TIME_SCALE: '0.001' }).gameTimeScale).toBe(0.001);
    expect(parseConfig({ GAME_TIME_SCALE: '1000' }).gameTimeScale).toBe(1000);
  });

  it("NOTIFICATIONS_PER_SECOND must be positive and below Telegram's 30 a second", () => {
    for (const value of ['0', '-1', 'abc', '30', '31', 'Infinity', 'NaN']) {
      expectRejected('NOTIFICATIONS_PER_SECOND', value);
    }
    expect(problemsOf({ NOTIFICATIONS_PER_SECOND: '30' })[0]).toMatch(/replies keep a share/);
    expect(parseConfig({ NOTIFICATIONS_PER_SECOND: '0.5' }).notificationsPerSecond).toBe(0.5);
    expect(parseConfig({ NOTIFICATIONS_PER_SECOND: '29' }).notificationsPerSecond).toBe(29);
  });

  it('LOG_LEVEL must be a pino level', () => {
    for (const value of ['verbose', 'INFO', 'warning', '30']) expectRejected('LOG_LEVEL', value);
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const) {
      expect(parseConfig({ LOG_LEVEL: level }).logLevel).toBe(level);
    }
  });

  it('TELEGRAM_WEBHOOK_SECRET must be 1-256 characters Telegram accepts', () => {
    const webhook = { TELEGRAM_WEBHOOK_URL: WEBHOOK_URL };
    for (const value of ['has space', 'bad!char', 'ümlaut', 'x'.repeat(257)]) {
      expectRejected('TELEGRAM_WEBHOOK_SECRET', value, webhook);
    }
    expect(
      parseConfig({ ...webhook, TELEGRAM_WEBHOOK_SECRET: 'x'.repeat(256) }).telegram.webhookSecret,
    ).toHaveLength(256);
  });

  it('TELEGRAM_WEBHOOK_URL must be an http(s) URL', () => {
    for (const value of ['farm.example.com/telegram', 'ftp://farm.example.com/telegram']) {
      expectRejected('TELEGRAM_WEBHOOK_URL', value, { TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET });
    }
  });

  it('TELEGRAM_API_ROOT must be a URL, and loses trailing slashes', () => {
    expectRejected('TELEGRAM_API_ROOT', 'api.telegram.org');
    expect(parseConfig({ TELEGRAM_API_ROOT: 'http://127.0.0.1:8081//' }).telegram.apiRoot).toBe(
      'http://127.0.0.1:8081',
    );
  });

  it('TELEGRAM_MODE must be webhook or polling', () => {
    expectRejected('TELEGRAM_MODE', 'push');
    expectRejected('TELEGRAM_MODE', 'Polling');
  });

  it('USER_HASH_SECRET must be at least 16 characters', () => {
    expect(problemsOf({ USER_HASH_SECRET: 'short' })).toEqual([
      'USER_HASH_SECRET: must be at least 16 characters',
    ]);
    expect(parseConfig({ USER_HASH_SECRET: 'x'.repeat(16) }).userHashSecret).toBe('x'.repeat(16));
  });

  it('reports every problem at once, and the error message lists them', () => {
    const env = { HTTP_PORT: 'abc', LOG_LEVEL: 'loud', REDIS_URL: 'localhost' };
    const problems = problemsOf(env);
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'HTTP_PORT',
      'LOG_LEVEL',
      'REDIS_URL',
    ]);
    expect(() => parseConfig(env)).toThrow(/^Invalid configuration:\n {2}- /);
    try {
      parseConfig(env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).name).toBe('ConfigError');
      for (const problem of problems) expect((err as Error).message).toContain(problem);
    }
  });
});

describe('config: USER_HASH_SECRET', () => {
  it('is required when TELEGRAM_BOT_TOKEN is set', () => {
    const problems = problemsOf({ TELEGRAM_BOT_TOKEN: TOKEN });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^USER_HASH_SECRET: required when TELEGRAM_BOT_TOKEN is set/);
  });

  it('is used when given with a token', () => {
    const config = parseConfig({ TELEGRAM_BOT_TOKEN: TOKEN, USER_HASH_SECRET: SECRET });
    expect(config.telegram.token).toBe(TOKEN);
    expect(config.userHashSecret).toBe(SECRET);
  });

  it('falls back to one fixed development secret without a token', () => {
    const first = parseConfig({}).userHashSecret;
    expect(parseConfig({ HTTP_PORT: '4000' }).userHashSecret).toBe(first);
    expect(first).not.toBe(SECRET);
  });
});

describe('config: what each entry point requires, reported in one list', () => {
  const namesOf = (env: Env, entry: (typeof ENTRY_POINTS)[keyof typeof ENTRY_POINTS]) => {
    try {
      parseConfig(env, entry);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems.map((p) => p.split(':')[0]).sort();
      throw err;
    }
    throw new Error(`parseConfig accepted ${JSON.stringify(env)} for ${entry.entryPoint}`);
  };

  it('start:worker requires USER_HASH_SECRET and TEMPORAL_ADDRESS, with any invalid variable', () => {
    expect(namesOf({}, ENTRY_POINTS.worker)).toEqual(['TEMPORAL_ADDRESS', 'USER_HASH_SECRET']);
    expect(namesOf({ HTTP_PORT: 'abc', LOG_LEVEL: 'loud' }, ENTRY_POINTS.worker)).toEqual([
      'HTTP_PORT',
      'LOG_LEVEL',
      'TEMPORAL_ADDRESS',
      'USER_HASH_SECRET',
    ]);
    const problems = problemsOfEntry({ TEMPORAL_ADDRESS: 'temporal:7233' }, ENTRY_POINTS.worker);
    expect(problems).toEqual([
      expect.stringMatching(/^USER_HASH_SECRET: required by start:worker/),
    ]);
  });

  it('start:bot requires the token, USER_HASH_SECRET and TEMPORAL_ADDRESS', () => {
    expect(namesOf({}, ENTRY_POINTS.bot)).toEqual([
      'TELEGRAM_BOT_TOKEN',
      'TEMPORAL_ADDRESS',
      'USER_HASH_SECRET',
    ]);
    expect(
      namesOf({ TELEGRAM_WEBHOOK_URL: WEBHOOK_URL, REDIS_URL: 'localhost' }, ENTRY_POINTS.bot),
    ).toEqual([
      'REDIS_URL',
      'TELEGRAM_BOT_TOKEN',
      'TELEGRAM_WEBHOOK_SECRET',
      'TEMPORAL_ADDRESS',
      'USER_HASH_SECRET',
    ]);
    const config = parseConfig(
      { TEMPORAL_ADDRESS: 'temporal:7233', TELEGRAM_BOT_TOKEN: TOKEN, USER_HASH_SECRET: SECRET },
      ENTRY_POINTS.bot,
    );
    expect(config.userHashSecret).toBe(SECRET);
    expect(config.userHashSecretIsDevelopment).toBe(false);
  });

  it('start:worker never needs the bot token and is not stopped by any Telegram variable', () => {
    const config = parseConfig(
      {
        TEMPORAL_ADDRESS: 'temporal:7233',
        USER_HASH_SECRET: SECRET,
        TELEGRAM_BOT_TOKEN: 'not-a-token',
        TELEGRAM_MODE: 'webhook',
        TELEGRAM_WEBHOOK_URL: 'nope',
        TELEGRAM_API_ROOT: 'not a url',
      },
      ENTRY_POINTS.worker,
    );
    expect(config.telegram.token).toBeUndefined();
    expect(config.userHashSecret).toBe(SECRET);
    expect(
      parseConfig(
        { TEMPORAL_ADDRESS: 'temporal:7233', USER_HASH_SECRET: SECRET, TELEGRAM_BOT_TOKEN: TOKEN },
        ENTRY_POINTS.worker,
      ).telegram.token,
    ).toBeUndefined();
  });

  it('npm start alone falls back to the development secret, and says it did', () => {
    const config = parseConfig({}, ENTRY_POINTS.local);
    expect(config.userHashSecretIsDevelopment).toBe(true);
    expect(config.userHashSecret).toBe(parseConfig({}).userHashSecret);
    expect(config.gameTimeScale).toBe(0.01);
    expect(namesOf({ TELEGRAM_BOT_TOKEN: TOKEN }, ENTRY_POINTS.local)).toEqual([
      'USER_HASH_SECRET',
    ]);
  });

  it('npm run schedules needs only Temporal: no bot token, no USER_HASH_SECRET, logs at warn', () => {
    const config = parseConfig(
      { TELEGRAM_BOT_TOKEN: 'not-a-token', TELEGRAM_MODE: 'webhook' },
      ENTRY_POINTS.schedules,
    );
    expect(config.temporal.address).toBeUndefined();
    expect(config.telegram.token).toBeUndefined();
    expect(config.logLevel).toBe('warn');
    expect(parseConfig({ LOG_LEVEL: 'debug' }, ENTRY_POINTS.schedules).logLevel).toBe('debug');
    expect(parseConfig({}).logLevel).toBe('info');
  });

  it('npm run schedules is not stopped by a variable it does not read, valid or not', () => {
    const config = parseConfig(
      {
        HTTP_PORT: 'abc',
        USER_HASH_SECRET: 'short',
        DATA_DIR: '',
        TELEGRAM_API_ROOT: 'not a url',
        ADMIN_TOKEN: 'short',
        TEMPORAL_ADDRESS: 'temporal:7233',
      },
      ENTRY_POINTS.schedules,
    );
    expect(config.temporal.address).toBe('temporal:7233');
    // What it does read is still checked.
    expect(() => parseConfig({ TEMPORAL_ADDRESS: 'no port' }, ENTRY_POINTS.schedules)).toThrow(
      /TEMPORAL_ADDRESS/,
    );
  });

  it("npm run schedules builds at npm start's scale for npm start's server, at 1 for any other", () => {
    // No TEMPORAL_ADDRESS: the local dev server of npm start, which plays at its own scale.
    expect(parseConfig({}, ENTRY_POINTS.schedules).gameTimeScale).toBe(
      parseConfig({}, ENTRY_POINTS.local).gameTimeScale,
    );
    expect(
      parseConfig({ TEMPORAL_ADDRESS: 'temporal:7233' }, ENTRY_POINTS.schedules).gameTimeScale,
    ).toBe(1);
    for (const env of [
      { GAME_TIME_SCALE: '0.5' },
      { GAME_TIME_SCALE: '0.5', TEMPORAL_ADDRESS: 'temporal:7233' },
    ])
      expect(parseConfig(env, ENTRY_POINTS.schedules).gameTimeScale).toBe(0.5);
  });

  it('an invalid variable does not hide a missing one (one round, not two)', () => {
    expect(
      problemsOf({ HTTP_PORT: 'abc', TELEGRAM_BOT_TOKEN: TOKEN })
        .map((p) => p.split(':')[0])
        .sort(),
    ).toEqual(['HTTP_PORT', 'USER_HASH_SECRET']);
    expect(
      problemsOf({ TELEGRAM_MODE: 'webhook', GAME_TIME_SCALE: '-1' })
        .map((p) => p.split(':')[0])
        .sort(),
    ).toEqual(['GAME_TIME_SCALE', 'TELEGRAM_WEBHOOK_SECRET', 'TELEGRAM_WEBHOOK_URL']);
  });
});

describe('config: Telegram mode', () => {
  it('is polling when no webhook URL is set', () => {
    expect(parseConfig({ TELEGRAM_BOT_TOKEN: TOKEN, USER_HASH_SECRET: SECRET }).telegram.mode).toBe(
      'polling',
    );
  });

  it('is inferred as webhook from TELEGRAM_WEBHOOK_URL, which then needs a secret', () => {
    expect(problemsOf({ TELEGRAM_WEBHOOK_URL: WEBHOOK_URL })).toEqual([
      'TELEGRAM_WEBHOOK_SECRET: required in webhook mode',
    ]);
    const config = parseConfig({
      TELEGRAM_WEBHOOK_URL: WEBHOOK_URL,
      TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
    });
    expect(config.telegram).toMatchObject({
      mode: 'webhook',
      webhookUrl: WEBHOOK_URL,
      webhookSecret: WEBHOOK_SECRET,
    });
  });

  it('TELEGRAM_MODE=webhook needs both the URL and the secret', () => {
    expect(problemsOf({ TELEGRAM_MODE: 'webhook' }).sort()).toEqual([
      'TELEGRAM_WEBHOOK_SECRET: required in webhook mode',
      'TELEGRAM_WEBHOOK_URL: required when TELEGRAM_MODE is webhook',
    ]);
    expect(
      problemsOf({ TELEGRAM_MODE: 'webhook', TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET }),
    ).toEqual(['TELEGRAM_WEBHOOK_URL: required when TELEGRAM_MODE is webhook']);
  });

  it('TELEGRAM_MODE=polling wins over a webhook URL and needs no secret', () => {
    const config = parseConfig({ TELEGRAM_MODE: 'polling', TELEGRAM_WEBHOOK_URL: WEBHOOK_URL });
    expect(config.telegram.mode).toBe('polling');
  });

  it('reports the missing hash secret and webhook secret together', () => {
    expect(
      problemsOf({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_WEBHOOK_URL: WEBHOOK_URL })
        .map((p) => p.split(':')[0])
        .sort(),
    ).toEqual(['TELEGRAM_WEBHOOK_SECRET', 'USER_HASH_SECRET']);
  });
});

describe('config: SUPPORT_TOKENS', () => {
  const token = (c: string) => c.repeat(40);

  it('names each token; the support listener starts for them alone', () => {
    const config = parseConfig({ SUPPORT_TOKENS: `alice:${token('a')},bob:${token('b')}` });
    expect(config.support.tokens.map((t) => t.name)).toEqual(['alice', 'bob']);
    expect(config.admin.token).toBeUndefined();
  });

  it.each([
    ['a token without a name', token('a'), /entry 1: expected name:token/],
    ['a name that is not one', `Alice Smith:${token('a')}`, /entry 1: expected name:token/],
    ['a short token', 'alice:short', /alice's token must be at least 32 characters/],
    ['a name twice', `alice:${token('a')},alice:${token('b')}`, /the name alice appears twice/],
    ['a token twice', `alice:${token('a')},bob:${token('a')}`, /bob's token is another name's/],
    ['the admin name', `admin:${token('a')}`, /"admin" names the admin token/],
  ])('refuses %s', (_what, value, problem) => {
    expect(problemsOf({ SUPPORT_TOKENS: value })).toEqual([
      expect.stringMatching(new RegExp(`^SUPPORT_TOKENS: .*${problem.source}`)),
    ]);
  });

  it('refuses an OTLP endpoint that is no http(s) URL', () => {
    for (const value of ['otel-collector:4318', 'grpc://otel:4317', 'not a url']) {
      expect(problemsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: value })).toEqual([
        expect.stringMatching(/^OTEL_EXPORTER_OTLP_ENDPOINT: must be an http\(s\) URL/),
      ]);
    }
  });

  it('refuses a sticky cache size that is not a whole number of at least 2', () => {
    for (const value of ['0', '1', '2.5', 'lots', '-3']) {
      expect(problemsOf({ WORKER_MAX_CACHED_WORKFLOWS: value })).toEqual([
        expect.stringMatching(/^WORKER_MAX_CACHED_WORKFLOWS: /),
      ]);
    }
    expect(parseConfig({ WORKER_MAX_CACHED_WORKFLOWS: '2' }).workerMaxCachedWorkflows).toBe(2);
  });

  it("refuses a worker's metrics port that is one of the bot's on the same host", () => {
    expect(problemsOf({ WORKER_METRICS_PORT: '3000' })).toEqual([
      expect.stringMatching(/^WORKER_METRICS_PORT: must differ from HTTP_PORT \(3000\)/),
    ]);
    expect(problemsOf({ WORKER_METRICS_PORT: '3001', WORKER_METRICS_HOST: '0.0.0.0' })).toEqual([
      expect.stringMatching(/^WORKER_METRICS_PORT: must differ from ADMIN_HTTP_PORT \(3001\)/),
    ]);
    expect(problemsOf({ WORKER_METRICS_PORT: '0' })).toEqual([
      expect.stringMatching(/^WORKER_METRICS_PORT: /),
    ]);
    // Another host, or another port: no clash.
    expect(
      parseConfig({ WORKER_METRICS_PORT: '3000', WORKER_METRICS_HOST: '10.0.0.8' }).workerMetrics,
    ).toEqual({ host: '10.0.0.8', port: 3000 });
    expect(parseConfig({ WORKER_METRICS_PORT: '3002' }).workerMetrics.port).toBe(3002);
  });

  it('refuses the admin token as a support token, and the public port for the listener', () => {
    expect(problemsOf({ ADMIN_TOKEN, SUPPORT_TOKENS: `alice:${ADMIN_TOKEN}` })).toEqual([
      'SUPPORT_TOKENS: a support token must differ from ADMIN_TOKEN',
    ]);
    expect(problemsOf({ SUPPORT_TOKENS: `alice:${token('a')}`, ADMIN_HTTP_PORT: '3000' })).toEqual([
      expect.stringMatching(/^ADMIN_HTTP_PORT: must differ from HTTP_PORT/),
    ]);
  });

  it('caps a compensation between 1 and 1,000,000 coins, and the UI URL must be http(s)', () => {
    expect(problemsOf({ SUPPORT_GRANT_MAX_COINS: '0' })[0]).toMatch(/^SUPPORT_GRANT_MAX_COINS: /);
    expect(problemsOf({ SUPPORT_GRANT_MAX_COINS: '1.5' })[0]).toMatch(/^SUPPORT_GRANT_MAX_COINS: /);
    expect(problemsOf({ TEMPORAL_UI_URL: 'ftp://x' })).toEqual([
      'TEMPORAL_UI_URL: must be an http(s) URL',
    ]);
  });

  it('points at the dev server UI on TEMPORAL_UI_PORT unless TEMPORAL_UI_URL says otherwise', () => {
    expect(parseConfig({ TEMPORAL_UI_PORT: '18233' }).support.temporalUiUrl).toBe(
      'http://127.0.0.1:18233',
    );
  });
});

describe('config: empty values', () => {
  it('an empty or blank string is the same as unset, for every variable', () => {
    for (const blank of ['', '   ']) {
      const env = Object.fromEntries(CONFIG_VARIABLES.map((name) => [name, blank]));
      expect(parseConfig(env)).toEqual(DEFAULTS);
    }
  });

  it('an empty TELEGRAM_BOT_TOKEN needs no USER_HASH_SECRET', () => {
    expect(parseConfig({ TELEGRAM_BOT_TOKEN: '' }).telegram.token).toBeUndefined();
  });

  it('an empty TELEGRAM_WEBHOOK_URL does not switch to webhook mode', () => {
    expect(parseConfig({ TELEGRAM_WEBHOOK_URL: '' }).telegram.mode).toBe('polling');
  });

  it('loadTemporalCliPath treats an empty TEMPORAL_CLI_PATH as unset', () => {
    expect(loadTemporalCliPath({ TEMPORAL_CLI_PATH: '' })).toBeUndefined();
    expect(loadTemporalCliPath({})).toBeUndefined();
    expect(loadTemporalCliPath({ TEMPORAL_CLI_PATH: '/opt/temporal' })).toBe('/opt/temporal');
  });

  it('loadTemporalCliPath ignores the rest of the configuration, even when invalid', () => {
    expect(loadTemporalCliPath({ TEMPORAL_CLI_PATH: '/opt/temporal', HTTP_PORT: 'abc' })).toBe(
      '/opt/temporal',
    );
  });
});

describe('config: the caller sets the default game time scale', () => {
  it('is 1 without a default', () => {
    expect(parseConfig({}).gameTimeScale).toBe(1);
  });

  it('uses the entry point default when GAME_TIME_SCALE is unset or empty', () => {
    expect(parseConfig({}, { gameTimeScale: 0.01 }).gameTimeScale).toBe(0.01);
    expect(parseConfig({ GAME_TIME_SCALE: '' }, { gameTimeScale: 0.01 }).gameTimeScale).toBe(0.01);
  });

  it('GAME_TIME_SCALE wins over the entry point default', () => {
    expect(parseConfig({ GAME_TIME_SCALE: '1' }, { gameTimeScale: 0.01 }).gameTimeScale).toBe(1);
    expect(parseConfig({ GAME_TIME_SCALE: '2.5' }, { gameTimeScale: 0.01 }).gameTimeScale).toBe(
      2.5,
    );
  });
});

describe('config: .env.example', () => {
  const text = readFileSync(resolve(__dirname, '../../.env.example'), 'utf8');
  // Every `KEY=` in the file, commented out or not, anywhere on a line.
  const assigned = [...text.matchAll(/(?<![A-Za-z0-9_])([A-Z][A-Z0-9_]*)=/g)].map((m) => m[1]!);

  it('mentions every variable the configuration reads', () => {
    const missing = CONFIG_VARIABLES.filter((name) => !assigned.includes(name));
    expect(missing).toEqual([]);
  });

  it('mentions no variable the configuration does not read, and each one once', () => {
    const known: readonly string[] = CONFIG_VARIABLES;
    expect(assigned.filter((name) => !known.includes(name))).toEqual([]);
    expect(assigned.filter((name, i) => assigned.indexOf(name) !== i)).toEqual([]);
  });

  it('copied to .env it changes nothing: every line is commented out', () => {
    const active = text
      .split('\n')
      .filter((line) => line.trim() && !line.trimStart().startsWith('#'));
    expect(active).toEqual([]);
  });

  it('uncommented as a whole, it still gives the defaults', () => {
    const env = Object.fromEntries(
      [...text.matchAll(/^#\s*([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1]!, m[2]!.trim()]),
    );
    expect(Object.keys(env).sort()).toEqual([...CONFIG_VARIABLES].sort());
    expect(parseConfig(env)).toEqual(DEFAULTS);
    expect(parseConfig(env, { gameTimeScale: 0.01 }).gameTimeScale).toBe(0.01);
  });
});
