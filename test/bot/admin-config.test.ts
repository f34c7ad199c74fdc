/**
 * The admin API's variables: ADMIN_TOKEN is optional but never weak, the admin listener has its
 * own host and port (127.0.0.1:3001) and never shares the public port while it runs, and
 * processes that serve no admin API are not stopped by them.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, ENTRY_POINTS, parseConfig } from '../../infra/config';
import { logSecrets } from '../../infra/logging';

type Env = Record<string, string | undefined>;

const ADMIN_TOKEN = 'a'.repeat(16) + 'B-._~+/0123456789';
const PRODUCTION = {
  TEMPORAL_ADDRESS: 'temporal:7233',
  TELEGRAM_BOT_TOKEN: '123456789:AAH-abc_DEF123',
  USER_HASH_SECRET: 'a-user-hash-secret-of-32-chars!!',
};

function problemsOf(env: Env, requirements?: Parameters<typeof parseConfig>[1]): string[] {
  try {
    parseConfig(env, requirements);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error(`parseConfig accepted ${JSON.stringify(env)}`);
}

describe('admin config: ADMIN_TOKEN', () => {
  it('is optional: unset (or blank), the admin API is off and every entry point still starts', () => {
    for (const token of [undefined, '', '  ']) {
      expect(parseConfig({ ADMIN_TOKEN: token }).admin).toEqual({
        token: undefined,
        host: '127.0.0.1',
        port: 3001,
      });
    }
    expect(parseConfig(PRODUCTION, ENTRY_POINTS.bot).admin.token).toBeUndefined();
    expect(parseConfig({}, ENTRY_POINTS.local).admin.token).toBeUndefined();
  });

  it('needs at least 32 characters, and says how to make one', () => {
    expect(problemsOf({ ADMIN_TOKEN: 'x'.repeat(31) })).toEqual([
      'ADMIN_TOKEN: must be at least 32 characters (e.g. `openssl rand -hex 32`)',
    ]);
    expect(parseConfig({ ADMIN_TOKEN: 'x'.repeat(32) }).admin.token).toBe('x'.repeat(32));
    expect(parseConfig({ ADMIN_TOKEN }).admin.token).toBe(ADMIN_TOKEN);
  });

  it('must be sendable as a bearer token: no spaces, quotes or other characters', () => {
    for (const token of [
      `${'x'.repeat(32)} y`,
      `"${'x'.repeat(32)}"`,
      `${'x'.repeat(32)}é`,
      `${'x'.repeat(32)},`,
      `=${'x'.repeat(32)}`,
    ]) {
      const problems = problemsOf({ ADMIN_TOKEN: token });
      expect(problems, token).toEqual([
        expect.stringMatching(/^ADMIN_TOKEN: must be a bearer token/),
      ]);
    }
    expect(parseConfig({ ADMIN_TOKEN: `${'x'.repeat(32)}==` }).admin.token).toBe(
      `${'x'.repeat(32)}==`,
    );
  });

  it('never reaches a log line: it is one of the secrets the logger scrubs', () => {
    const config = parseConfig({ ADMIN_TOKEN });
    expect(logSecrets(config)).toContain(ADMIN_TOKEN);
    expect(logSecrets(parseConfig({}))).not.toContain(undefined);
  });
});

describe('admin config: the admin listener', () => {
  it('reads ADMIN_HTTP_HOST and ADMIN_HTTP_PORT', () => {
    expect(
      parseConfig({ ADMIN_TOKEN, ADMIN_HTTP_HOST: '0.0.0.0', ADMIN_HTTP_PORT: '9000' }).admin,
    ).toEqual({ token: ADMIN_TOKEN, host: '0.0.0.0', port: 9000 });
  });

  it('ADMIN_HTTP_PORT must be a port', () => {
    for (const port of ['0', '65536', 'abc', '3001.5']) {
      expect(problemsOf({ ADMIN_HTTP_PORT: port })).toEqual([
        expect.stringMatching(/^ADMIN_HTTP_PORT: \S/),
      ]);
    }
  });

  it.each([
    ['the same host', '127.0.0.1', '127.0.0.1'],
    ['the public listener on every interface', '0.0.0.0', '127.0.0.1'],
    ['the admin listener on every interface', '127.0.0.1', '::'],
    ['two names of loopback', 'localhost', '127.0.0.1'],
  ])('is refused on the public port: %s', (_, httpHost, adminHost) => {
    const env = {
      ADMIN_TOKEN,
      HTTP_HOST: httpHost,
      HTTP_PORT: '8080',
      ADMIN_HTTP_HOST: adminHost,
      ADMIN_HTTP_PORT: '8080',
    };
    expect(problemsOf(env)).toEqual([
      'ADMIN_HTTP_PORT: must differ from HTTP_PORT (8080) on the same host: the admin API is never served on the public port',
    ]);
  });

  it('with the defaults, HTTP_PORT=3001 clashes only once a token turns the admin API on', () => {
    expect(parseConfig({ HTTP_PORT: '3001' }).http.port).toBe(3001);
    expect(problemsOf({ HTTP_PORT: '3001', ADMIN_TOKEN })).toEqual([
      expect.stringMatching(/^ADMIN_HTTP_PORT: must differ from HTTP_PORT \(3001\)/),
    ]);
  });

  it('may share a port number with the public listener on another interface', () => {
    const config = parseConfig({
      ADMIN_TOKEN,
      HTTP_HOST: '10.0.0.5',
      HTTP_PORT: '8080',
      ADMIN_HTTP_HOST: '127.0.0.1',
      ADMIN_HTTP_PORT: '8080',
    });
    expect(config.admin.port).toBe(config.http.port);
  });

  it('is reported with the other problems, in one list', () => {
    expect(
      problemsOf({ ADMIN_TOKEN: 'short', HTTP_PORT: 'abc', LOG_LEVEL: 'loud' })
        .map((p) => p.split(':')[0])
        .sort(),
    ).toEqual(['ADMIN_TOKEN', 'HTTP_PORT', 'LOG_LEVEL']);
  });
});

describe('admin config: start:worker serves no admin API', () => {
  it('ignores every ADMIN_* variable, even invalid ones', () => {
    const config = parseConfig(
      {
        TEMPORAL_ADDRESS: 'temporal:7233',
        USER_HASH_SECRET: PRODUCTION.USER_HASH_SECRET,
        ADMIN_TOKEN: 'short',
        ADMIN_HTTP_PORT: 'abc',
        ADMIN_HTTP_HOST: '127.0.0.1',
      },
      ENTRY_POINTS.worker,
    );
    expect(config.admin).toEqual({ token: undefined, host: '127.0.0.1', port: 3001 });
  });

  it('start:bot does read them', () => {
    expect(problemsOf({ ...PRODUCTION, ADMIN_TOKEN: 'short' }, ENTRY_POINTS.bot)).toEqual([
      expect.stringMatching(/^ADMIN_TOKEN: must be at least 32 characters/),
    ]);
  });
});
