/**
 * Player registration on the real dev server and Redis: a worker given another USER_HASH_SECRET
 * than the bot cannot open the farm's sealed chat id. That failure is final (no retries), it never
 * keeps the farm from continuing as new, and the farm's next run tries again, so a worker with the
 * right secret registers the player. The registry keeps the sealed id, never the raw one.
 */
import { randomUUID } from 'node:crypto';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createFarmActivities, SEALED_CHAT_ID_UNREADABLE } from '../../activities/farm';
import {
  farmWorkflowId,
  grantRewardSignal,
  USER_HASH_SEARCH_ATTRIBUTE,
  WORKFLOW_TYPES,
} from '../../workflows/contract';
import { encryptChatId, userHash as deriveUserHash } from '../../infra/identity';
import { createLogger } from '../../infra/logging';
import { createPlayerRegistry } from '../../store/players';
import { connectRedis, type RedisClient } from '../../store/redis';
import type { GameFarmWorkflow } from '../../workflows';
import { REDIS_URL } from '../support/constants';
import { newPlayer, TEST_SECRET } from '../support/game';
import { connectTestTemporal, type RunningWorker, type TestTemporal } from '../support/temporal';

const OTHER_SECRET = 'a-different-user-hash-secret-0123';
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

describe('player registration never blocks the farm', () => {
  let t: TestTemporal;
  let redis: RedisClient;
  let keyPrefix: string;
  beforeAll(async () => {
    t = await connectTestTemporal();
    redis = await connectRedis(REDIS_URL, createLogger('warn'));
    keyPrefix = `${inject('redisKeyPrefix')}${randomUUID().slice(0, 8)}:`;
  });
  afterAll(async () => {
    await t.close();
    await redis.close();
  });

  const workerWith = (userHashSecret: string): Promise<RunningWorker> =>
    t.startWorker(createFarmActivities({ redis, keyPrefix, userHashSecret }));

  it('a worker with another secret fails it once; the farm still continues as new and retries it', async () => {
    const player = newPlayer();
    const userHash = deriveUserHash(player.telegramUserId, TEST_SECRET);
    const sealedChatId = encryptChatId(player.chatId, TEST_SECRET);
    const registry = createPlayerRegistry(redis, keyPrefix);
    const wrong = await workerWith(OTHER_SECRET);
    const handle = await t.client.workflow.start<typeof GameFarmWorkflow>(WORKFLOW_TYPES.gameFarm, {
      workflowId: farmWorkflowId(userHash),
      taskQueue: t.taskQueue,
      args: [{ userHash, sealedChatId, timeScale: 0.001, maxHistoryEvents: 40 }],
      typedSearchAttributes: [{ key: USER_HASH_SEARCH_ATTRIBUTE, value: userHash }],
    });
    const runEvents = async (runId: string): Promise<HistoryEvent[]> =>
      (await t.client.workflow.getHandle(handle.workflowId, runId).fetchHistory()).events ?? [];
    const registrations = (events: HistoryEvent[]) =>
      events.filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'registerPlayer',
      );
    const failures = (events: HistoryEvent[]) =>
      events.flatMap((e) => (e.activityTaskFailedEventAttributes?.failure ? [e] : []));
    /** Cheap signals until the farm continues as new; returns the new run's id. */
    const pushToNextRun = async (runId: string) => {
      for (let i = 0; i < 60; i++) {
        const current = (await handle.describe()).runId;
        if (current !== runId) return current;
        await handle.signal(grantRewardSignal, {
          grantId: `filler-${randomUUID()}`,
          issuedAtMs: Date.now(),
          coins: 0,
          xp: 0,
          reason: 'filler',
        });
      }
      throw new Error('the farm never continued as new');
    };

    // First run: the registration fails at once, for a reason retrying cannot fix.
    const firstRunId = handle.firstExecutionRunId;
    await expect
      .poll(async () => failures(await runEvents(firstRunId)).length, { timeout: 10_000 })
      .toBe(1);
    const failed = failures(await runEvents(firstRunId))[0]!.activityTaskFailedEventAttributes!;
    expect(failed.failure?.applicationFailureInfo).toMatchObject({
      type: SEALED_CHAT_ID_UNREADABLE,
      nonRetryable: true,
    });
    expect(failed.failure?.message).toContain('USER_HASH_SECRET');
    expect(failed.failure?.message).not.toContain(String(player.chatId));
    expect(await registry.get(userHash)).toBeNull();

    // The farm still reaches its history bound and continues as new.
    const secondRunId = await pushToNextRun(firstRunId);
    const first = await runEvents(firstRunId);
    expect(first.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
    expect(registrations(first)).toHaveLength(1);

    // The next run tries again (and fails again with the same worker).
    await expect
      .poll(async () => failures(await runEvents(secondRunId)).length, { timeout: 10_000 })
      .toBe(1);
    expect(registrations(await runEvents(secondRunId))).toHaveLength(1);

    // With the bot's secret, the run after that registers the player, sealed.
    await wrong.stop();
    await workerWith(TEST_SECRET); // stopped by t.close()
    const thirdRunId = await pushToNextRun(secondRunId);
    await expect
      .poll(() => registry.get(userHash), { timeout: 10_000 })
      .toMatchObject({ sealedChatId, active: true });
    expect(failures(await runEvents(thirdRunId))).toEqual([]);
    const stored = await redis.hGetAll(`${keyPrefix}player:${userHash}`);
    expect(JSON.stringify(stored)).not.toContain(String(player.chatId));
  });

  it('registering replaces a raw chat id left by an older release with the sealed one', async () => {
    const registry = createPlayerRegistry(redis, keyPrefix);
    const userHash = deriveUserHash(newPlayer().telegramUserId, TEST_SECRET);
    await redis.hSet(`${keyPrefix}player:${userHash}`, {
      chatId: '424242',
      active: '1',
      joinedAtMs: '1000',
    });
    expect(await registry.get(userHash)).toEqual({
      userHash,
      sealedChatId: null,
      active: true,
      joinedAtMs: 1000,
      notifications: true,
      displayName: null,
    });
    const sealedChatId = encryptChatId(424242, TEST_SECRET);
    await registry.register({ userHash, sealedChatId, joinedAtMs: 2000 });
    expect(await registry.get(userHash)).toEqual({
      userHash,
      sealedChatId,
      active: true,
      joinedAtMs: 1000,
      notifications: true,
      displayName: null,
    });
    expect(await redis.hGet(`${keyPrefix}player:${userHash}`, 'chatId')).toBeNull();
  });
});
