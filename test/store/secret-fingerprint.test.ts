/**
 * Processes that disagree on USER_HASH_SECRET notice it through Redis (the real one, under a key
 * prefix of this file's own): only processes alive now count, production processes refuse,
 * `npm start` warns, and a start after the old processes stopped proceeds and logs the change.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userHashKeyFingerprint } from '../../infra/identity';
import { createLogger } from '../../infra/logging';
import { connectRedis, type RedisClient } from '../../store/redis';
import {
  announceSecretFingerprint,
  type FingerprintRole,
  SecretMismatchError,
} from '../../store/secret-fingerprint';
import { REDIS_URL } from '../support/constants';
import { captureLogs } from '../support/logs';

const SECRET_A = 'fingerprint-test-secret-aaaaaaaa';
const SECRET_B = 'fingerprint-test-secret-bbbbbbbb';

describe('USER_HASH_SECRET fingerprints of live processes', () => {
  let redis: RedisClient;
  let prefixBase: string;
  beforeAll(async () => {
    redis = await connectRedis(REDIS_URL, createLogger('warn'));
    prefixBase = `farmflow-test:fingerprint:${randomUUID().slice(0, 8)}:`;
  });
  afterAll(async () => {
    for await (const keys of redis.scanIterator({ MATCH: `${prefixBase}*` }))
      if (keys.length > 0) await redis.del(keys);
    await redis.close();
  });

  /** A fresh deployment: its own key prefix. */
  const deployment = () => {
    const keyPrefix = `${prefixBase}${randomUUID().slice(0, 8)}:`;
    const log = captureLogs();
    const start = (role: FingerprintRole, userHashSecret: string, ttlMs?: number) =>
      announceSecretFingerprint({
        redis,
        keyPrefix,
        userHashSecret,
        role,
        logger: log.logger,
        ttlMs,
      });
    return { keyPrefix, start, log };
  };

  it('processes with the same secret start side by side; the secret is never stored', async () => {
    const d = deployment();
    const bot = await d.start('bot', SECRET_A);
    const worker = await d.start('worker', SECRET_A);
    expect(worker.fingerprint).toBe(bot.fingerprint);
    const live = await redis.zRange(`${d.keyPrefix}secret-fingerprint:live`, 0, -1);
    expect(live).toHaveLength(2);
    expect(live.every((m) => m.startsWith(`${userHashKeyFingerprint(SECRET_A)} `))).toBe(true);
    const keys: string[] = [];
    for await (const batch of redis.scanIterator({ MATCH: `${d.keyPrefix}*` })) keys.push(...batch);
    for (const key of keys) {
      const value =
        (await redis.type(key)) === 'zset'
          ? (await redis.zRange(key, 0, -1)).join(' ')
          : ((await redis.get(key)) ?? '');
      expect(value).not.toContain(SECRET_A);
    }
    expect(d.log.lines.filter((l) => l.level >= 40)).toEqual([]);
    await worker.stop();
    await bot.stop();
    expect(await redis.zCard(`${d.keyPrefix}secret-fingerprint:live`)).toBe(0);
  });

  it('a worker with another secret than a live bot refuses to start, naming USER_HASH_SECRET', async () => {
    const d = deployment();
    const bot = await d.start('bot', SECRET_A);
    const error = await d.start('worker', SECRET_B).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SecretMismatchError);
    expect((error as Error).message).toMatch(/USER_HASH_SECRET differs .* \(bot\)/);
    expect((error as Error).message).not.toContain(SECRET_A);
    expect((error as Error).message).not.toContain(SECRET_B);
    // The refused process announced nothing: a later worker with the right secret starts.
    const worker = await d.start('worker', SECRET_A);
    await worker.stop();
    await bot.stop();
  });

  it('npm start with another secret warns and starts', async () => {
    const d = deployment();
    const worker = await d.start('worker', SECRET_A);
    const local = await d.start('local', SECRET_B);
    expect(
      d.log.lines.some((l) => l.level === 40 && l.msg.startsWith('USER_HASH_SECRET differs')),
    ).toBe(true);
    await local.stop();
    await worker.stop();
  });

  it('after the old processes stopped, a start with another secret proceeds and logs the change', async () => {
    const d = deployment();
    const old = await d.start('bot', SECRET_A);
    await old.stop();
    const fresh = await d.start('bot', SECRET_B);
    const changed = d.log.lines.filter((l) => l.msg.startsWith('USER_HASH_SECRET changed'));
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({
      level: 40,
      previous: userHashKeyFingerprint(SECRET_A),
      fingerprint: userHashKeyFingerprint(SECRET_B),
    });
    await fresh.stop();
  });

  it('a process that died without withdrawing counts only until its announcement expires', async () => {
    const d = deployment();
    // A bot killed with SIGKILL: its announcement stays until it expires.
    await redis.zAdd(`${d.keyPrefix}secret-fingerprint:live`, {
      score: Date.now() + 500,
      value: `${userHashKeyFingerprint(SECRET_A)} bot dead-host:1:x`,
    });
    await expect(d.start('worker', SECRET_B)).rejects.toBeInstanceOf(SecretMismatchError);
    await new Promise((resolve) => setTimeout(resolve, 700));
    const worker = await d.start('worker', SECRET_B);
    await worker.stop();
  });

  it('a live process keeps its announcement fresh past its TTL', async () => {
    const d = deployment();
    const bot = await d.start('bot', SECRET_A, 600);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await expect(d.start('worker', SECRET_B, 600)).rejects.toBeInstanceOf(SecretMismatchError);
    await bot.stop();
  });
});
