/**
 * The per-message workflows' local activities, readFarm and applyFarmAction, run in
 * MockActivityEnvironment (no per-message workflow, no main-menu worker). They reach a real farm:
 * GameFarmWorkflow on the run's dev server with the game's own worker, and world state in the real
 * Redis under this file's key prefix. Only the last block replaces the Temporal client with a small
 * fake, to make the client fail in ways a healthy server does not.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createFarmActivities } from '../../activities/farm';
import { createMainMenuActivities } from '../../activities/main-menu';
import { createEarlyAnswers, type EarlyAnswers } from '../../activities/early-answers';
import {
  farmWorkflowId,
  getFarmQuery,
  mainMenuWorkflowId,
  type MainMenuScreen,
  USER_HASH_SEARCH_ATTRIBUTE,
  WORKFLOW_TYPES,
} from '../../workflows/contract';
import { CROPS, type FarmAction, NEUTRAL_WORLD, STARTING_COINS, STARTING_PLOTS } from '../../game';
import { encryptChatId, userHash as deriveUserHash } from '../../infra/identity';
import { createLogger } from '../../infra/logging';
import { connectRedis, type RedisClient } from '../../store/redis';
import { createWorldStore } from '../../store/world';
import { REDIS_URL } from '../support/constants';
import { newPlayer, nextUpdateId, sleepMs, TEST_SECRET, TEST_TIME_SCALE } from '../support/game';
import { connectTestTemporal, type TestTemporal } from '../support/temporal';

/** The value a promise has settled with by now, or 'pending'. */
const settled = <T>(promise: Promise<T>) =>
  Promise.race([promise, new Promise<'pending'>((r) => setImmediate(() => r('pending')))]);

const newPlayerRef = () => {
  const { telegramUserId, chatId } = newPlayer();
  return {
    userHash: deriveUserHash(telegramUserId, TEST_SECRET),
    sealedChatId: encryptChatId(chatId, TEST_SECRET),
  };
};

/** The context a per-message workflow gives its local activity: its own workflow id. */
const localActivityEnv = (workflowId: string) =>
  new MockActivityEnvironment(
    {
      isLocal: true,
      workflowType: WORKFLOW_TYPES.mainMenuMessage,
      workflowExecution: { workflowId, runId: randomUUID() },
    },
    // The failures below are expected; the SDK's "Activity failed" warnings would only be noise.
    { logger: new DefaultLogger('ERROR') },
  );

/** Runs `fn` as the local activity of the per-message workflow `workflowId`. */
const inActivity = <R>(workflowId: string, fn: () => Promise<R>): Promise<R> =>
  localActivityEnv(workflowId).run<[], R, () => Promise<R>>(fn);

describe('main-menu activities against a real farm', () => {
  let t: TestTemporal;
  let redis: RedisClient;
  let keyPrefix: string;
  let earlyAnswers: EarlyAnswers;
  let activities: ReturnType<typeof createMainMenuActivities>;

  beforeAll(async () => {
    t = await connectTestTemporal();
    redis = await connectRedis(REDIS_URL, createLogger('warn'));
    keyPrefix = `${inject('redisKeyPrefix')}${randomUUID().slice(0, 8)}:`;
    // The game's worker: the real GameFarmWorkflow and registerPlayer on this file's queue.
    await t.startWorker(createFarmActivities({ redis, keyPrefix, userHashSecret: TEST_SECRET }));
    earlyAnswers = createEarlyAnswers();
    activities = createMainMenuActivities({
      client: t.client,
      redis,
      keyPrefix,
      timeScale: TEST_TIME_SCALE,
      gameTaskQueue: t.taskQueue,
      earlyAnswers,
    });
  });
  afterAll(async () => {
    await t.close();
    await redis.close();
  });

  it('readFarm creates a new player’s farm, then reads it, and answers early under its workflow id', async () => {
    const player = newPlayerRef();
    const workflowId = mainMenuWorkflowId(player.userHash, nextUpdateId());
    const waiting = earlyAnswers.wait(workflowId);
    const elsewhere = earlyAnswers.wait(`${workflowId}-other`);

    const first = await inActivity(workflowId, () => activities.readFarm(player));
    expect(first.world).toEqual(NEUTRAL_WORLD);
    expect(first.snapshot.userHash).toBe(player.userHash);
    expect(first.snapshot.farm).toMatchObject({
      coins: STARTING_COINS,
      xp: 0,
      timeScale: TEST_TIME_SCALE,
      lastDailyBonusAtMs: null,
    });
    expect(first.snapshot.farm.plots).toHaveLength(STARTING_PLOTS);
    expect(await settled(waiting.screen)).toEqual({ kind: 'farm', ...first });
    expect(await settled(elsewhere.screen)).toBe('pending');
    elsewhere.cancel();

    // The farm it created: the game's type on the game's queue, findable by UserHash.
    const farm = await t.client.workflow.getHandle(farmWorkflowId(player.userHash)).describe();
    expect(farm.type).toBe(WORKFLOW_TYPES.gameFarm);
    expect(farm.taskQueue).toBe(t.taskQueue);
    expect(farm.status.name).toBe('RUNNING');
    expect(farm.typedSearchAttributes.get(USER_HASH_SEARCH_ATTRIBUTE)).toBe(player.userHash);

    // A second read finds the same farm (a query: nothing is started again).
    const again = await inActivity(`${workflowId}-2`, () => activities.readFarm(player));
    expect(again.snapshot.farm.createdAtMs).toBe(first.snapshot.farm.createdAtMs);
    expect(again.snapshot.asOfMs).toBeGreaterThanOrEqual(first.snapshot.asOfMs);
    const after = await t.client.workflow.getHandle(farmWorkflowId(player.userHash)).describe();
    expect(after.runId).toBe(farm.runId);
  });

  it('readFarm passes on the world state stored in Redis', async () => {
    const otherPrefix = `${keyPrefix}world-${randomUUID().slice(0, 8)}:`;
    const world = { marketMultiplier: 1.5, eventMultiplier: 2, eventName: 'Harvest Fair' };
    await createWorldStore(redis, otherPrefix).write(world);
    const withWorld = createMainMenuActivities({
      client: t.client,
      redis,
      keyPrefix: otherPrefix,
      timeScale: TEST_TIME_SCALE,
      gameTaskQueue: t.taskQueue,
    });
    const read = await inActivity('main-menu-world', () => withWorld.readFarm(newPlayerRef()));
    expect(read.world).toEqual(world);
  });

  it('applyFarmAction applies once per action id and answers early with the screen', async () => {
    const player = newPlayerRef();
    const actionId = mainMenuWorkflowId(player.userHash, nextUpdateId());
    const plant: FarmAction = { type: 'plant', plotId: 0, cropId: 'wheat' };
    const waiting = earlyAnswers.wait(actionId);

    // First contact is an action: the farm is created by the same call.
    const outcome = await inActivity(actionId, () =>
      activities.applyFarmAction({
        ...player,
        actionId,
        action: plant,
      }),
    );
    if (!outcome.ok) throw new Error(`refused: ${outcome.reason}`);
    expect(outcome.world).toEqual(NEUTRAL_WORLD);
    expect(outcome.result.event).toMatchObject({
      type: 'planted',
      plotId: 0,
      cropId: 'wheat',
      coinsSpent: CROPS.wheat.seedPrice,
    });
    expect(outcome.result.snapshot.farm.coins).toBe(STARTING_COINS - CROPS.wheat.seedPrice);
    expect(await settled(waiting.screen)).toEqual({
      kind: 'actionDone',
      event: outcome.result.event,
      snapshot: outcome.result.snapshot,
      world: NEUTRAL_WORLD,
    } satisfies MainMenuScreen);

    // The activity retried with the same id: the farm answers from memory, nothing is paid twice.
    const retried = await inActivity(actionId, () =>
      activities.applyFarmAction({
        ...player,
        actionId,
        action: plant,
      }),
    );
    expect(retried.ok && retried.result.event).toEqual(outcome.result.event);
    const farm = t.client.workflow.getHandle(farmWorkflowId(player.userHash));
    expect((await farm.query(getFarmQuery)).farm.coins).toBe(
      STARTING_COINS - CROPS.wheat.seedPrice,
    );

    // Another press of the same button is another action: the farm refuses it.
    const secondId = mainMenuWorkflowId(player.userHash, nextUpdateId());
    const secondWaiting = earlyAnswers.wait(secondId);
    const refused = await inActivity(secondId, () =>
      activities.applyFarmAction({
        ...player,
        actionId: secondId,
        action: plant,
      }),
    );
    expect(refused).toMatchObject({ ok: false, reason: 'Plot 1 is already growing wheat.' });
    if (refused.ok) throw new Error('not refused');
    expect(refused.snapshot.farm.coins).toBe(STARTING_COINS - CROPS.wheat.seedPrice);
    expect(refused.snapshot.farm.plots[0]?.crop?.cropId).toBe('wheat');
    expect(await settled(secondWaiting.screen)).toEqual({
      kind: 'actionRefused',
      reason: 'Plot 1 is already growing wheat.',
      snapshot: refused.snapshot,
      world: NEUTRAL_WORLD,
    } satisfies MainMenuScreen);

    // Each action type goes to its own update: the ripe wheat is harvested.
    await sleepMs(CROPS.wheat.growSeconds * 1000 * TEST_TIME_SCALE + 100);
    const harvestId = mainMenuWorkflowId(player.userHash, nextUpdateId());
    const harvested = await inActivity(harvestId, () =>
      activities.applyFarmAction({
        ...player,
        actionId: harvestId,
        action: { type: 'harvest', plotId: 0 },
      }),
    );
    expect(harvested.ok && harvested.result.event).toMatchObject({
      type: 'harvested',
      cropId: 'wheat',
      quantity: CROPS.wheat.yield,
    });
    expect(harvested.ok && harvested.result.snapshot.farm.inventory.wheat).toBe(CROPS.wheat.yield);
  });

  it('applyFarmAction refuses a malformed action without sending it to the farm', async () => {
    const player = newPlayerRef();
    await inActivity('main-menu-first', () => activities.readFarm(player));
    const sent = vi.spyOn(t.client.workflow, 'executeUpdateWithStart');
    try {
      const actionId = mainMenuWorkflowId(player.userHash, nextUpdateId());
      const outcome = await inActivity(actionId, () =>
        activities.applyFarmAction({
          ...player,
          actionId,
          action: { type: 'plant', plotId: 'x', cropId: 'wheat' } as unknown as FarmAction,
        }),
      );
      expect(outcome).toMatchObject({ ok: false, reason: 'Plot number must be a whole number.' });
      expect(!outcome.ok && outcome.snapshot.farm.coins).toBe(STARTING_COINS);
      expect(sent).not.toHaveBeenCalled();
    } finally {
      sent.mockRestore();
    }
  });
});

describe('main-menu activities when the client fails', () => {
  // A fake Temporal client: the point is what the activities do with errors a healthy server
  // does not produce on demand (an unreachable frontend). World state still comes from Redis.
  let redis: RedisClient;
  beforeAll(async () => {
    redis = await connectRedis(REDIS_URL, createLogger('warn'));
  });
  afterAll(() => redis.close());

  const unreachable = new Error('14 UNAVAILABLE: connection refused');
  const failingClient = () => {
    const executeUpdateWithStart = vi.fn(async () => {
      throw unreachable;
    });
    const query = vi.fn(async () => {
      throw unreachable;
    });
    const client = {
      workflow: { executeUpdateWithStart, getHandle: () => ({ query }) },
    } as unknown as Client;
    return { client, executeUpdateWithStart, query };
  };
  const activitiesWith = (client: Client, earlyAnswers: EarlyAnswers) =>
    createMainMenuActivities({
      client,
      redis,
      keyPrefix: `${inject('redisKeyPrefix')}fake-${randomUUID().slice(0, 8)}:`,
      timeScale: TEST_TIME_SCALE,
      gameTaskQueue: 'unused',
      earlyAnswers,
    });

  it('readFarm lets the error through (so the activity retries) and does not start a farm', async () => {
    const { client, executeUpdateWithStart, query } = failingClient();
    const earlyAnswers = createEarlyAnswers();
    const waiting = earlyAnswers.wait('main-menu-fake-1');
    const fake = activitiesWith(client, earlyAnswers);
    await expect(inActivity('main-menu-fake-1', () => fake.readFarm(newPlayerRef()))).rejects.toBe(
      unreachable,
    );
    expect(query).toHaveBeenCalledTimes(1);
    // Only "no such farm" leads to creating one.
    expect(executeUpdateWithStart).not.toHaveBeenCalled();
    expect(await settled(waiting.screen)).toBe('pending');
  });

  it('applyFarmAction lets an error other than a refusal through and answers nothing early', async () => {
    const { client, executeUpdateWithStart } = failingClient();
    const earlyAnswers = createEarlyAnswers();
    const waiting = earlyAnswers.wait('main-menu-fake-2');
    const fake = activitiesWith(client, earlyAnswers);
    await expect(
      inActivity('main-menu-fake-2', () =>
        fake.applyFarmAction({
          ...newPlayerRef(),
          actionId: 'main-menu-fake-2',
          action: { type: 'buyPlot' },
        }),
      ),
    ).rejects.toBe(unreachable);
    expect(executeUpdateWithStart).toHaveBeenCalledTimes(1);
    expect(executeUpdateWithStart.mock.calls[0]).toMatchObject([
      { name: 'buyPlot' },
      { updateId: 'main-menu-fake-2' },
    ]);
    expect(await settled(waiting.screen)).toBe('pending');
  });
});
