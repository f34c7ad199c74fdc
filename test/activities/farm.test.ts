/**
 * The farm's ordinary activities, registerPlayer and publishPlayer, run in MockActivityEnvironment (no Temporal
 * server, no worker) against the real Redis, under this file's own key prefix.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ApplicationFailure, type LogLevel, type LogMetadata } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createFarmActivities, SEALED_CHAT_ID_UNREADABLE } from '../../activities/farm';
import { chatIdKeyring, encryptChatId, userHash as deriveUserHash } from '../../infra/identity';
import { createLogger } from '../../infra/logging';
import { activityLogInterceptors } from '../../worker/runtime';
import { createLeaderboard } from '../../store/leaderboard';
import { createPlayerRegistry } from '../../store/players';
import { connectRedis, type RedisClient } from '../../store/redis';
import { REDIS_URL } from '../support/constants';
import { newPlayer, TEST_SECRET } from '../support/game';

const OTHER_SECRET = 'a-different-user-hash-secret-0123';

interface LogLine {
  level: LogLevel;
  message: string;
  meta?: LogMetadata;
}

/** An activity environment whose log lines are kept, with the worker's activity interceptor. */
function activityEnvironment() {
  const logged: LogLine[] = [];
  const record = (level: LogLevel) => (message: string, meta?: LogMetadata) =>
    logged.push({ level, message, meta });
  const env = new MockActivityEnvironment(
    { workflowExecution: { workflowId: `game-farm-${randomUUID()}`, runId: randomUUID() } },
    {
      interceptors: [activityLogInterceptors],
      logger: {
        log: (level, message, meta) => logged.push({ level, message, meta }),
        trace: record('TRACE'),
        debug: record('DEBUG'),
        info: record('INFO'),
        warn: record('WARN'),
        error: record('ERROR'),
      },
    },
  );
  return { env, logged };
}

function player() {
  const { telegramUserId, chatId } = newPlayer();
  return { chatId, userHash: deriveUserHash(telegramUserId, TEST_SECRET) };
}

describe('registerPlayer', () => {
  let redis: RedisClient;
  let keyPrefix: string;
  beforeAll(async () => {
    redis = await connectRedis(REDIS_URL, createLogger('warn'));
    keyPrefix = `${inject('redisKeyPrefix')}${randomUUID().slice(0, 8)}:`;
  });
  afterAll(async () => {
    await redis.close();
  });

  it('stores the player with the sealed chat id, once, keeping the first join time', async () => {
    const activities = createFarmActivities({ redis, keyPrefix, userHashSecret: TEST_SECRET });
    const registry = createPlayerRegistry(redis, keyPrefix);
    const { chatId, userHash } = player();
    const sealedChatId = encryptChatId(chatId, TEST_SECRET);
    const { env, logged } = activityEnvironment();

    await env.run(() => activities.registerPlayer({ userHash, sealedChatId, joinedAtMs: 1_000 }));
    expect(await registry.get(userHash)).toEqual({
      userHash,
      sealedChatId,
      active: true,
      joinedAtMs: 1_000,
      notifications: true,
      displayName: null,
    });
    const stored = await redis.hGetAll(`${keyPrefix}player:${userHash}`);
    expect(JSON.stringify(stored)).not.toContain(String(chatId));
    expect(await redis.zScore(`${keyPrefix}players:by-join-time`, userHash)).toBe(1_000);

    // A later run of the farm registers again: the record stays the first one.
    await env.run(() => activities.registerPlayer({ userHash, sealedChatId, joinedAtMs: 2_000 }));
    expect((await registry.get(userHash))?.joinedAtMs).toBe(1_000);
    expect(await redis.zScore(`${keyPrefix}players:by-join-time`, userHash)).toBe(1_000);

    const line = logged.find((l) => l.message === 'player registered');
    expect(line?.level).toBe('INFO');
    expect(line?.meta).toMatchObject({
      workflowId: env.context.info.workflowExecution?.workflowId,
    });
    expect(line?.meta).not.toHaveProperty('taskToken');
    expect(JSON.stringify(logged)).not.toContain(String(chatId));
  });

  it('fails without retries when the id was sealed under another secret, and stores nothing', async () => {
    const activities = createFarmActivities({ redis, keyPrefix, userHashSecret: TEST_SECRET });
    const registry = createPlayerRegistry(redis, keyPrefix);
    const { chatId, userHash } = player();
    const sealedChatId = encryptChatId(chatId, OTHER_SECRET);

    const failure = await activityEnvironment()
      .env.run(() => activities.registerPlayer({ userHash, sealedChatId, joinedAtMs: 1_000 }))
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: SEALED_CHAT_ID_UNREADABLE, nonRetryable: true });
    const message = (failure as ApplicationFailure).message;
    expect(message).toContain('(authentication)');
    expect(message).toContain('USER_HASH_SECRET');
    expect(message).not.toContain(String(chatId));
    expect(message).not.toContain(sealedChatId);
    expect(await registry.get(userHash)).toBeNull();
    expect(await redis.exists(`${keyPrefix}player:${userHash}`)).toBe(0);
  });

  it('fails the same way for a malformed sealed id', async () => {
    const activities = createFarmActivities({ redis, keyPrefix, userHashSecret: TEST_SECRET });
    const { userHash } = player();
    await expect(
      activityEnvironment().env.run(() =>
        activities.registerPlayer({
          userHash,
          sealedChatId: 'not-a-sealed-id',
          joinedAtMs: 1_000,
        }),
      ),
    ).rejects.toMatchObject({
      type: SEALED_CHAT_ID_UNREADABLE,
      nonRetryable: true,
      message: expect.stringContaining('(malformed)') as unknown,
    });
    expect(await createPlayerRegistry(redis, keyPrefix).get(userHash)).toBeNull();
  });

  it('opens ids sealed under an extra key of its keyring, and refuses them without it', async () => {
    const extra = [{ id: 'k1', key: randomBytes(32) }];
    const sealedChatId = encryptChatId(4242, chatIdKeyring(TEST_SECRET, extra));
    expect(sealedChatId.startsWith('v2.k1.')).toBe(true);
    const { userHash } = player();

    const without = createFarmActivities({ redis, keyPrefix, userHashSecret: TEST_SECRET });
    await expect(
      activityEnvironment().env.run(() =>
        without.registerPlayer({
          userHash,
          sealedChatId,
          joinedAtMs: 1_000,
        }),
      ),
    ).rejects.toMatchObject({
      type: SEALED_CHAT_ID_UNREADABLE,
      message: expect.stringContaining('(unknown-key)') as unknown,
    });

    const withKey = createFarmActivities({
      redis,
      keyPrefix,
      userHashSecret: TEST_SECRET,
      chatIdKeys: chatIdKeyring(TEST_SECRET, extra),
    });
    await activityEnvironment().env.run(() =>
      withKey.registerPlayer({
        userHash,
        sealedChatId,
        joinedAtMs: 1_000,
      }),
    );
    expect((await createPlayerRegistry(redis, keyPrefix).get(userHash))?.sealedChatId).toBe(
      sealedChatId,
    );
  });
});

describe('publishPlayer', () => {
  let redis: RedisClient;
  let keyPrefix: string;
  beforeAll(async () => {
    redis = await connectRedis(REDIS_URL, createLogger('warn'));
    keyPrefix = `${inject('redisKeyPrefix')}${randomUUID().slice(0, 8)}:`;
  });
  afterAll(async () => {
    await redis.close();
  });

  it('writes the copy, ranks the player, and ignores an older copy with a log line', async () => {
    const activities = createFarmActivities({ redis, keyPrefix, userHashSecret: TEST_SECRET });
    const { chatId, userHash } = player();
    const copy = {
      userHash,
      sealedChatId: encryptChatId(chatId, TEST_SECRET),
      joinedAtMs: 1_000,
      xp: 12,
      xpReachedAtMs: 5_000,
      displayName: 'Ann',
      notifications: false,
      reachable: true,
    };
    await activityEnvironment().env.run(() => activities.publishPlayer(copy));
    const { env, logged } = activityEnvironment();
    await env.run(() => activities.publishPlayer({ ...copy, xp: 8, xpReachedAtMs: 4_000 }));
    expect(logged.map((line) => line.message)).toContain(
      'player copy not written: Redis holds a newer one',
    );

    expect(await createLeaderboard(redis, keyPrefix).rank(userHash)).toEqual({
      rank: 1,
      xp: 12,
      total: 1,
    });
    expect(await createPlayerRegistry(redis, keyPrefix).get(userHash)).toMatchObject({
      notifications: false,
      displayName: 'Ann',
      active: true,
      joinedAtMs: 1_000,
    });
  });

  it('refuses a malformed copy without retries', async () => {
    const activities = createFarmActivities({ redis, keyPrefix, userHashSecret: TEST_SECRET });
    const { chatId, userHash } = player();
    await expect(
      activityEnvironment().env.run(() =>
        activities.publishPlayer({
          userHash,
          sealedChatId: encryptChatId(chatId, TEST_SECRET),
          joinedAtMs: 1_000,
          xp: Number.NaN,
          xpReachedAtMs: 1_000,
          displayName: null,
          notifications: true,
          reachable: true,
        }),
      ),
    ).rejects.toMatchObject({ type: 'InvalidPlayerCopy', nonRetryable: true });
  });
});
