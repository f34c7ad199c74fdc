/**
 * The admin API's door, through `app.inject` on the admin app with real schedule operations on the
 * run's dev server and the real Redis: a missing or wrong bearer token is 401 and reaches no
 * operation; failed attempts are limited per client address (429 with Retry-After, for the right
 * token too, until the window ends); successes never count; the count is shared through Redis
 * and kept in memory while Redis is unreachable.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type AdminApp, buildAdminApp } from '../../bot/admin/app';
import { unusedBatches } from '../support/batches';
import { createLogger } from '../../infra/logging';
import { scheduleDefinitions } from '../../schedules/catalog';
import { createScheduleOperations } from '../../schedules/engine';
import type { ScheduleOperations } from '../../schedules/operations';
import { connectRedis, type RedisClient } from '../../store/redis';
import { REDIS_URL } from '../support/constants';
import { TEST_TIME_SCALE } from '../support/game';
import { startStallingProxy, type StallingProxy } from '../support/stalling-proxy';
import { connectTestTemporal, type TestTemporal } from '../support/temporal';

const TOKEN = randomBytes(32).toString('hex');
const logger = createLogger('silent');

let t: TestTemporal;
let redis: RedisClient;
let operations: ScheduleOperations;
/** Operations the routes reached, whatever the answer. */
let calls = 0;
const apps: AdminApp[] = [];

beforeAll(async () => {
  t = await connectTestTemporal();
  redis = await connectRedis(REDIS_URL, logger);
  const idPrefix = `test-${randomUUID().slice(0, 8)}-`;
  const real = createScheduleOperations({
    client: t.client,
    // Never applied: these tests list an empty catalog's schedules, and nothing polls the queue.
    definitions: scheduleDefinitions({
      timeScale: TEST_TIME_SCALE,
      taskQueue: `${t.taskQueue}-schedules`,
      idPrefix,
    }),
    idPrefix,
  });
  operations = {
    ...real,
    list: () => {
      calls += 1;
      return real.list();
    },
  };
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await redis?.close();
  await t?.close();
});

/** An admin app of its own (a bot process), with its own Redis key prefix unless shared. */
async function adminApp(
  options: {
    failures?: number;
    windowSeconds?: number;
    keyPrefix?: string;
    redis?: RedisClient;
  } = {},
) {
  const app = await buildAdminApp({
    logger,
    token: TOKEN,
    redis: options.redis ?? redis,
    keyPrefix: options.keyPrefix ?? `${inject('redisKeyPrefix')}${randomUUID().slice(0, 8)}:`,
    operations,
    batches: unusedBatches,
    failureLimit: { failures: options.failures ?? 3, windowSeconds: options.windowSeconds ?? 60 },
  });
  apps.push(app);
  return app;
}

let nextAddress = 1;
/** A client address of its own for each caller, as distinct machines would have. */
const newAddress = () => `10.1.${Math.floor(nextAddress / 250)}.${(nextAddress++ % 250) + 1}`;

function list(app: AdminApp, address: string, authorization?: string) {
  return app.inject({
    method: 'GET',
    url: '/admin/schedules',
    remoteAddress: address,
    headers: authorization === undefined ? {} : { authorization },
  });
}

describe('admin API: the bearer token', () => {
  let app: AdminApp;
  beforeAll(async () => {
    app = await adminApp({ failures: 100 });
  });

  it('without a token: 401 with a Bearer challenge, and no operation runs', async () => {
    const before = calls;
    const res = await list(app, newAddress());
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="farmflow-admin"');
    expect(res.json<{ error: string }>().error).toContain('Authorization: Bearer');
    expect(calls).toBe(before);
  });

  it('another scheme, or a malformed Bearer header: 401', async () => {
    for (const header of [
      `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`,
      TOKEN,
      'Bearer',
      'Bearer ',
      `Bearer ${TOKEN} extra`,
      `Bearer${TOKEN}`,
    ]) {
      const res = await list(app, newAddress(), header);
      expect(res.statusCode, header).toBe(401);
      expect(res.headers['www-authenticate'], header).toMatch(/^Bearer realm="farmflow-admin"/);
    }
  });

  it('a wrong token, of the same length or another: 401 invalid_token, and no operation runs', async () => {
    const before = calls;
    const sameLength = `${TOKEN.slice(0, -1)}${TOKEN.endsWith('0') ? '1' : '0'}`;
    expect(sameLength).toHaveLength(TOKEN.length);
    for (const wrong of [sameLength, TOKEN.slice(0, -1), `${TOKEN}0`, 'x', TOKEN.toUpperCase()]) {
      const res = await list(app, newAddress(), `Bearer ${wrong}`);
      expect(res.statusCode, wrong).toBe(401);
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="farmflow-admin", error="invalid_token"',
      );
      expect(res.json()).toEqual({ error: 'invalid token' });
    }
    expect(calls).toBe(before);
  });

  it('the right token: the operation runs (the scheme in any case)', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const before = calls;
      const res = await list(app, newAddress(), `${scheme} ${TOKEN}`);
      expect(res.statusCode, scheme).toBe(200);
      expect(Array.isArray(res.json<{ schedules: unknown }>().schedules)).toBe(true);
      expect(calls).toBe(before + 1);
    }
  });

  it('asks for the token before saying whether a path under /admin exists', async () => {
    for (const [method, url] of [
      ['GET', '/admin'],
      ['GET', '/admin/nope'],
      ['POST', '/admin/schedules'],
      ['DELETE', '/admin/schedules/x'],
    ] as const) {
      const anonymous = await app.inject({ method, url, remoteAddress: newAddress() });
      expect(anonymous.statusCode, `${method} ${url}`).toBe(401);
      const known = await app.inject({
        method,
        url,
        remoteAddress: newAddress(),
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(known.statusCode, `${method} ${url}`).toBe(404);
      expect(known.json()).toEqual({ error: 'Not found' });
    }
  });

  it('answers only under /admin, and health probes are not here', async () => {
    for (const url of ['/healthz', '/readyz', '/schedules', '/telegram/webhook']) {
      const res = await app.inject({
        method: 'GET',
        url,
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(res.statusCode, url).toBe(404);
    }
  });
});

describe('admin API: failed attempts per client address', () => {
  it('after N failures: 429 with Retry-After, the right token included; other addresses unaffected', async () => {
    const app = await adminApp({ failures: 3, windowSeconds: 60 });
    const guesser = newAddress();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1)
      statuses.push((await list(app, guesser, `Bearer guess-${i}`)).statusCode);
    expect(statuses).toEqual([401, 401, 401]);

    const before = calls;
    for (const header of ['Bearer guess-3', undefined, `Bearer ${TOKEN}`]) {
      const res = await list(app, guesser, header);
      expect(res.statusCode, String(header)).toBe(429);
      const retryAfter = Number(res.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(res.json<{ error: string }>().error).toContain('too many failed attempts');
    }
    // Refused before the token was looked at: the right one ran nothing.
    expect(calls).toBe(before);

    expect((await list(app, newAddress(), `Bearer ${TOKEN}`)).statusCode).toBe(200);
    expect((await list(app, newAddress(), 'Bearer guess')).statusCode).toBe(401);
  });

  it('successful requests are not counted', async () => {
    const app = await adminApp({ failures: 3 });
    const operator = newAddress();
    for (let i = 0; i < 5; i += 1) {
      expect((await list(app, operator, `Bearer ${TOKEN}`)).statusCode).toBe(200);
    }
    expect((await list(app, operator, 'Bearer typo')).statusCode).toBe(401);
    expect((await list(app, operator, 'Bearer typo')).statusCode).toBe(401);
    expect((await list(app, operator, `Bearer ${TOKEN}`)).statusCode).toBe(200);
    expect((await list(app, operator, 'Bearer typo')).statusCode).toBe(401);
    expect((await list(app, operator, `Bearer ${TOKEN}`)).statusCode).toBe(429);
  });

  it('the lock ends with the window', async () => {
    const app = await adminApp({ failures: 2, windowSeconds: 1 });
    const address = newAddress();
    await list(app, address, 'Bearer a');
    await list(app, address, 'Bearer b');
    const locked = await list(app, address, `Bearer ${TOKEN}`);
    expect(locked.statusCode).toBe(429);
    expect(locked.headers['retry-after']).toBe('1');
    await sleep(1_200);
    expect((await list(app, address, `Bearer ${TOKEN}`)).statusCode).toBe(200);
  });

  it('holds across bot processes: the count lives in Redis', async () => {
    const keyPrefix = `${inject('redisKeyPrefix')}${randomUUID().slice(0, 8)}:`;
    const [first, second] = [await adminApp({ keyPrefix }), await adminApp({ keyPrefix })];
    const address = newAddress();
    expect((await list(first, address, 'Bearer a')).statusCode).toBe(401);
    expect((await list(second, address, 'Bearer b')).statusCode).toBe(401);
    expect((await list(first, address, 'Bearer c')).statusCode).toBe(401);
    expect((await list(second, address, `Bearer ${TOKEN}`)).statusCode).toBe(429);
    expect(await redis.exists(`${keyPrefix}admin-auth-failures:${address}`)).toBe(1);
  });
});

describe('admin API: failed attempts while Redis is unreachable', () => {
  let proxy: StallingProxy;
  let proxied: RedisClient;
  beforeAll(async () => {
    const target = new URL(REDIS_URL);
    proxy = await startStallingProxy(() => ({
      host: target.hostname,
      port: Number(target.port || 6379),
    }));
    const url = new URL(REDIS_URL);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    proxied = await connectRedis(url.toString(), logger);
  });
  afterAll(async () => {
    await proxy.reopen().catch(() => undefined);
    const deadline = Date.now() + 10_000;
    while (!proxied.isReady && Date.now() < deadline) await sleep(50);
    if (proxied.isReady) await proxied.close();
    else proxied.destroy();
    await proxy?.close();
  });

  it('are still limited, in the process memory, and the right token still works', async () => {
    const app = await adminApp({ failures: 2, redis: proxied });
    await proxy.refuse();
    const deadline = Date.now() + 5_000;
    while (proxied.isReady && Date.now() < deadline) await sleep(50);
    expect(proxied.isReady).toBe(false);

    const operator = newAddress();
    expect((await list(app, operator, `Bearer ${TOKEN}`)).statusCode).toBe(200);
    const guesser = newAddress();
    expect((await list(app, guesser, 'Bearer a')).statusCode).toBe(401);
    expect((await list(app, guesser, 'Bearer b')).statusCode).toBe(401);
    expect((await list(app, guesser, `Bearer ${TOKEN}`)).statusCode).toBe(429);
    expect((await list(app, operator, `Bearer ${TOKEN}`)).statusCode).toBe(200);
  });
});
