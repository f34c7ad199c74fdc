/**
 * Bounds that need no Telegram: the HTTP server cuts off a client that trickles a request, and a
 * Redis command fails fast while Redis is unreachable (refused, or accepting and never answering)
 * instead of waiting for it to come back. The real Redis stays up; a proxy in front of it plays
 * the outage.
 */
import { connect, type Socket } from 'node:net';
import { Bot } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import { ClientOfflineError } from 'redis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp, REQUEST_TIMEOUT_MS } from '../../bot/app';
import type { BotContext } from '../../bot/context';
import { SECRET_HEADER, WEBHOOK_PATH } from '../../bot/routes/webhook';
import { createLogger } from '../../infra/logging';
import {
  connectRedis,
  REDIS_COMMAND_TIMEOUT_MS,
  RedisCommandTimeoutError,
  type RedisClient,
} from '../../store/redis';
import { REDIS_URL } from '../support/constants';
import { sleepMs } from '../support/game';
import { startStallingProxy, type StallingProxy } from '../support/stalling-proxy';

const logger = createLogger('silent');

/** Resolves with how long the socket stayed open, or with Infinity after `giveUpMs`. */
function openFor(socket: Socket, giveUpMs: number): Promise<number> {
  const opened = Date.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(Number.POSITIVE_INFINITY), giveUpMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - opened);
    });
  });
}

describe('the HTTP server and a client that trickles its request', () => {
  const SECRET = 'bounds-test-secret';
  let app: Awaited<ReturnType<typeof buildApp>>;
  let port: number;
  beforeAll(async () => {
    const bot = new Bot<BotContext>('1:bounds-test-token', {
      botInfo: {
        id: 1,
        is_bot: true,
        first_name: 'bounds',
        username: 'bounds_bot',
      } as UserFromGetMe,
    });
    app = await buildApp({ logger, readinessChecks: {}, webhook: { bot, secret: SECRET } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(() => app?.close());

  it('closes connections whose body or headers trickle in, within its bound', async () => {
    const giveUpMs = REQUEST_TIMEOUT_MS + 15_000;
    const timers: NodeJS.Timeout[] = [];
    const trickle = (head: string, drip: string) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write(head);
      // One byte a second: never idle, never done.
      timers.push(setInterval(() => socket.writable && socket.write(drip), 1000));
      return socket;
    };
    const slowBodies = Array.from({ length: 5 }, () =>
      trickle(
        `POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
          `${SECRET_HEADER}: ${SECRET}\r\nContent-Length: 100000\r\n\r\n{`,
        ' ',
      ),
    );
    const slowHeaders = trickle(`POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\n`, 'x');
    const lifetimes = await Promise.all(
      [...slowBodies, slowHeaders].map((s) => openFor(s, giveUpMs)),
    );
    timers.forEach(clearInterval);
    for (const lifetime of lifetimes) expect(lifetime).toBeLessThan(giveUpMs);
  }, 60_000);
});

describe('a Redis command while Redis is unreachable', () => {
  let proxy: StallingProxy;
  let redis: RedisClient;
  const target = new URL(REDIS_URL);
  const key = `${inject('redisKeyPrefix')}bounds:${process.pid}`;
  beforeAll(async () => {
    proxy = await startStallingProxy(() => ({
      host: target.hostname,
      port: Number(target.port || 6379),
    }));
    const url = new URL(REDIS_URL);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    redis = await connectRedis(url.toString(), logger);
    await redis.set(key, 'here');
  });
  afterAll(async () => {
    proxy.mode = 'forward';
    await proxy.reopen().catch(() => undefined);
    await waitUntil(() => redis.isReady, 10_000).catch(() => undefined);
    await redis?.del(key).catch(() => undefined);
    await redis?.close().catch(() => undefined);
    await proxy?.close();
  });

  it('fails at once while the connection is refused, and works again once Redis is back', async () => {
    await proxy.refuse();
    await waitUntil(() => !redis.isReady, 5_000);
    const started = Date.now();
    await expect(redis.get(key)).rejects.toBeInstanceOf(ClientOfflineError);
    expect(Date.now() - started).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS);

    await proxy.reopen();
    await waitUntil(() => redis.isReady, 10_000);
    expect(await redis.get(key)).toBe('here');
  }, 30_000);

  it('fails within its timeout when Redis accepts the command and never answers', async () => {
    proxy.mode = 'stall';
    const started = Date.now();
    await expect(redis.get(key)).rejects.toBeInstanceOf(RedisCommandTimeoutError);
    expect(Date.now() - started).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS + 3_000);
  }, 30_000);
});

async function waitUntil(condition: () => boolean, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`not within ${timeoutMs} ms`);
    await sleepMs(50);
  }
}
