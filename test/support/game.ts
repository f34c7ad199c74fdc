/**
 * The whole game on the run's dev server for one test file: a game worker (farms), a main-menu
 * worker (per-message workflows, eager start) and a notifications worker on task queues of the
 * file's own, Redis under a key prefix of the file's own, and the client module the bot uses.
 * Notifications go to a local Bot API server (Telegram is the one thing mocked: it cannot be
 * reached from here), which takes messages for any chat, since these players never wrote to it.
 */
import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { inject } from 'vitest';
import { createGameActivities } from '../../activities/game';
import { createMainMenuActivities } from '../../activities/main-menu';
import { createGameClient, type GameClient } from '../../bot/game-client';
import { createEarlyAnswers } from '../../activities/early-answers';
import { startNotificationsWorker } from '../../bot/notifications-worker';
import { startTestBotApi, type TestBotApi } from '../../dev/bot-api';
import { DEFAULT_NOTIFICATIONS_PER_SECOND } from '../../infra/config';
import { createLogger, type Logger } from '../../infra/logging';
import { connectRedis, type RedisClient } from '../../store/redis';
import { newFarm } from '../../game';
import type { FarmCarriedState } from '../../workflows/contract';
import { REDIS_URL } from './constants';
import { connectTestTemporal, type RunningWorker, type TestTemporal } from './temporal';

export const TEST_SECRET = 'test-user-hash-secret-0123456789';
/** Wheat (2 min at scale 1) grows in 120 ms. */
export const TEST_TIME_SCALE = 0.001;
const NOTIFY_TOKEN = '654321:test-token-for-notifications';

/**
 * A new farm's state as a registered, published farm's run would carry it into the next: started
 * with it, a farm calls no activity at its start (tests that make many farms, or that only need
 * one to answer).
 */
export function registeredFarm(joinedAtMs: number): FarmCarriedState {
  return {
    farm: newFarm(joinedAtMs, TEST_TIME_SCALE),
    readyCrops: [],
    appliedGrants: {},
    recentActions: {},
    registered: true,
    profile: { displayName: null, xpReachedAtMs: joinedAtMs, reachable: true },
    log: [],
    notices: {},
  };
}

export interface GameOptions {
  farmMaxHistoryEvents?: number;
  /** New farms' time scale (TEST_TIME_SCALE when absent). */
  timeScale?: number;
  /** Wraps the main-menu activities, e.g. to inject a fault. */
  wrapMainMenuActivities?: (
    activities: ReturnType<typeof createMainMenuActivities>,
  ) => ReturnType<typeof createMainMenuActivities>;
}

export interface TestGame {
  t: TestTemporal;
  redis: RedisClient;
  keyPrefix: string;
  game: GameClient;
  /** A client on the same connection as the main-menu worker (eager start). */
  eagerClient: Client;
  gameTaskQueue: string;
  /** Where the per-message workflows run (the main-menu worker polls it). */
  mainMenuTaskQueue: string;
  /** Where farms queue their notifications; they arrive at `botApi`. */
  notificationsTaskQueue: string;
  botApi: TestBotApi;
  startGameWorker(): Promise<RunningWorker>;
  gameWorker: RunningWorker;
  close(): Promise<void>;
}

export async function startTestGame(options: GameOptions = {}): Promise<TestGame> {
  const t = await connectTestTemporal();
  const keyPrefix = `${inject('redisKeyPrefix')}${randomUUID().slice(0, 8)}:`;
  const redis = await connectRedis(REDIS_URL, createLogger('warn'));
  const eagerClient = new Client({
    connection: t.nativeConnection,
    namespace: t.namespace,
    dataConverter: t.dataConverter,
  });
  const gameTaskQueue = t.taskQueue;
  const mainMenuTaskQueue = `${t.taskQueue}-menu`;
  const notificationsTaskQueue = `${t.taskQueue}-notifications`;
  const botApi = await startTestBotApi({ token: NOTIFY_TOKEN, acceptUnknownChats: true });

  const startGameWorker = () => startTestGameWorker(t, { redis, keyPrefix });
  const earlyAnswers = createEarlyAnswers();
  let mainMenuActivities = createMainMenuActivities({
    earlyAnswers,
    client: eagerClient,
    redis,
    keyPrefix,
    timeScale: options.timeScale ?? TEST_TIME_SCALE,
    gameTaskQueue,
    farmMaxHistoryEvents: options.farmMaxHistoryEvents,
    notificationsTaskQueue,
  });
  if (options.wrapMainMenuActivities)
    mainMenuActivities = options.wrapMainMenuActivities(mainMenuActivities);

  const gameWorker = await startGameWorker();
  await t.startWorker(mainMenuActivities, mainMenuTaskQueue);
  const notifications = await startNotificationsWorker({
    connection: t.nativeConnection,
    namespace: t.namespace,
    taskQueue: notificationsTaskQueue,
    dataConverter: t.dataConverter,
    token: NOTIFY_TOKEN,
    apiRoot: botApi.url,
    perSecond: DEFAULT_NOTIFICATIONS_PER_SECOND,
    redis,
    keyPrefix,
    userHashSecret: TEST_SECRET,
    logger: createLogger('warn'),
  });
  const game = createGameClient({
    earlyAnswers,
    client: eagerClient,
    userHashSecret: TEST_SECRET,
    taskQueue: mainMenuTaskQueue,
  });

  return {
    t,
    redis,
    keyPrefix,
    game,
    eagerClient,
    gameTaskQueue,
    mainMenuTaskQueue,
    notificationsTaskQueue,
    botApi,
    startGameWorker,
    gameWorker,
    async close() {
      await notifications.stop();
      await t.close();
      await botApi.close();
      await redis.close();
    },
  };
}

/**
 * A worker of the farms and every game activity on the file's game task queue, as a worker
 * process runs them (the test's USER_HASH_SECRET, the file's Redis key prefix).
 */
export function startTestGameWorker(
  t: TestTemporal,
  options: { redis: RedisClient; keyPrefix: string; logger?: Logger },
): Promise<RunningWorker> {
  return t.startWorker(
    createGameActivities({
      ...options,
      userHashSecret: TEST_SECRET,
      client: t.client,
      gameTaskQueue: t.taskQueue,
    }),
    t.taskQueue,
  );
}

let nextUserId = Math.floor(Math.random() * 1e9);
/** A new player each call; ids are random per file so files never share a farm. */
export function newPlayer() {
  nextUserId += 1;
  return { telegramUserId: nextUserId, chatId: nextUserId };
}

let nextUpdate = 0;
export const nextUpdateId = () => `u${Date.now()}${(nextUpdate += 1)}`;

export const sleepMs = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
