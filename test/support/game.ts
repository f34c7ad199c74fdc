/**
 * The whole game on the run's dev server for one test file: a game worker (farms) and a main-menu
 * worker (per-message workflows, eager start) on task queues of the file's own, Redis under a key
 * prefix of the file's own, and the client module the bot uses.
 */
import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { inject } from 'vitest';
import { createGameActivities } from '../../activities/game';
import { createMainMenuActivities } from '../../activities/main-menu';
import { createGameClient, type GameClient } from '../../bot/game-client';
import { createEarlyAnswers } from '../../activities/early-answers';
import { createLogger } from '../../infra/logging';
import { connectRedis, type RedisClient } from '../../store/redis';
import { REDIS_URL } from './constants';
import { connectTestTemporal, type RunningWorker, type TestTemporal } from './temporal';

export const TEST_SECRET = 'test-user-hash-secret-0123456789';
/** Wheat (2 min at scale 1) grows in 120 ms. */
export const TEST_TIME_SCALE = 0.001;

export interface GameOptions {
  farmMaxHistoryEvents?: number;
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
  /** Where this file's farms queue their notifications (the file's own, never the default). */
  notificationsTaskQueue: string;
  startGameWorker(): Promise<RunningWorker>;
  gameWorker: RunningWorker;
  close(): Promise<void>;
}

export async function startTestGame(options: GameOptions = {}): Promise<TestGame> {
  const t = await connectTestTemporal();
  const keyPrefix = `${inject('redisKeyPrefix')}${randomUUID().slice(0, 8)}:`;
  const redis = await connectRedis(REDIS_URL, createLogger('warn'));
  const eagerClient = new Client({ connection: t.nativeConnection, namespace: t.namespace });
  const gameTaskQueue = t.taskQueue;
  const mainMenuTaskQueue = `${t.taskQueue}-menu`;
  const notificationsTaskQueue = `${t.taskQueue}-notifications`;

  const startGameWorker = () =>
    t.startWorker(
      createGameActivities({
        redis,
        keyPrefix,
        userHashSecret: TEST_SECRET,
        client: t.client,
        gameTaskQueue,
      }),
      gameTaskQueue,
    );
  const earlyAnswers = createEarlyAnswers();
  let mainMenuActivities = createMainMenuActivities({
    earlyAnswers,
    client: eagerClient,
    redis,
    keyPrefix,
    timeScale: TEST_TIME_SCALE,
    gameTaskQueue,
    notificationsTaskQueue,
    farmMaxHistoryEvents: options.farmMaxHistoryEvents,
  });
  if (options.wrapMainMenuActivities)
    mainMenuActivities = options.wrapMainMenuActivities(mainMenuActivities);

  const gameWorker = await startGameWorker();
  await t.startWorker(mainMenuActivities, mainMenuTaskQueue);
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
    startGameWorker,
    gameWorker,
    async close() {
      await t.close();
      await redis.close();
    },
  };
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
