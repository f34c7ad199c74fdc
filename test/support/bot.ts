/**
 * The bot as it runs in production, for one test file: the bot service (per-message worker,
 * grammY, fastify) and a game worker on the run's dev server, talking to the local test Bot API
 * server. Telegram itself is the one thing mocked here: it cannot be reached from this machine.
 */
import { randomUUID } from 'node:crypto';
import type { DestinationStream } from 'pino';
import { inject } from 'vitest';
import { createFarmActivities } from '../../activities/farm';
import { type BotService, startBotService } from '../../bot/service';
import { type LogLevel, parseConfig } from '../../infra/config';
import { createLogger, logSecrets } from '../../infra/logging';
import { connectRedis, type RedisClient } from '../../store/redis';
import { startTestBotApi, type TestBotApi } from '../../dev/bot-api';
import { freePort } from '../../dev/temporal/server';
import { REDIS_URL } from './constants';
import { TEST_SECRET, TEST_TIME_SCALE } from './game';
import { connectTestTemporal, type RunningWorker, type TestTemporal } from './temporal';

export const BOT_TOKEN = '123456:test-token-for-the-local-bot-api';
export const WEBHOOK_SECRET = 'test-webhook-secret';

export interface TestBot {
  api: TestBotApi;
  service: BotService;
  t: TestTemporal;
  redis: RedisClient;
  keyPrefix: string;
  webhookUrl: string;
  gameWorker: RunningWorker;
  /** Where the admin API listens when on (`service.adminUrl`), and is closed when off. */
  adminPort: number;
  /** The prefix of the schedules this bot's admin API owns (the file's own, never farmflow's). */
  scheduleIdPrefix: string;
  /** Where those schedules start their workflows: no worker polls it. */
  scheduleTaskQueue: string;
  /** The file's own notifications queue, polled by the bot service. */
  notificationsTaskQueue: string;
  close(): Promise<void>;
}

export interface TestBotOptions {
  mode: 'webhook' | 'polling';
  /** Telegram's limits on the test Bot API server; on by default, as in production. */
  limits?: false;
  workingAfterMs?: number;
  temporalAddress?: string;
  /** Where the bot's logs go (default: stdout at warn), to read what the process would log. */
  log?: { level: LogLevel; destination: DestinationStream };
  /** The Bot API root the bot calls, given the test Bot API server's URL (e.g. a proxy before it). */
  apiRoot?: (botApiUrl: string) => string;
  /** ADMIN_TOKEN: the admin API on a free port of its own (`service.adminUrl`); unset: off. */
  adminToken?: string;
  /** SUPPORT_TOKENS: the support API and console on the admin listener. */
  supportTokens?: string;
  /** ADMIN_HTTP_PORT instead of a free one (e.g. a taken one), and `npm start`'s leniency. */
  admin?: { port: number; optional: boolean };
  /** NOTIFICATIONS_PER_SECOND (default 20). */
  notificationsPerSecond?: number;
  /** The test Bot API server takes messages for chats that never wrote to it (many players). */
  acceptUnknownChats?: boolean;
}

export async function startTestBot(options: TestBotOptions): Promise<TestBot> {
  const api = await startTestBotApi({
    token: BOT_TOKEN,
    limits: options.limits,
    acceptUnknownChats: options.acceptUnknownChats,
  });
  const t = await connectTestTemporal(options.temporalAddress);
  const keyPrefix = `${inject('redisKeyPrefix')}${randomUUID().slice(0, 8)}:`;
  const httpPort = await freePort();
  const adminPort = options.admin?.port ?? (await freePort());
  const scheduleIdPrefix = `test-${randomUUID().slice(0, 8)}-`;
  const scheduleTaskQueue = `${t.taskQueue}-schedules`;
  const notificationsTaskQueue = `${t.taskQueue}-notifications`;
  const webhookUrl = `http://127.0.0.1:${httpPort}/telegram/webhook`;
  const config = parseConfig({
    TEMPORAL_ADDRESS: t.address,
    REDIS_URL,
    REDIS_KEY_PREFIX: keyPrefix,
    HTTP_PORT: String(httpPort),
    // A port of its own even when off: test files run in parallel, and 3001 is a person's.
    ADMIN_HTTP_PORT: String(adminPort),
    ADMIN_TOKEN: options.adminToken,
    SUPPORT_TOKENS: options.supportTokens,
    TELEGRAM_BOT_TOKEN: BOT_TOKEN,
    TELEGRAM_API_ROOT: options.apiRoot?.(api.url) ?? api.url,
    TELEGRAM_MODE: options.mode,
    TELEGRAM_WEBHOOK_URL: options.mode === 'webhook' ? webhookUrl : undefined,
    TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
    USER_HASH_SECRET: TEST_SECRET,
    GAME_TIME_SCALE: String(TEST_TIME_SCALE),
    NOTIFICATIONS_PER_SECOND: options.notificationsPerSecond?.toString(),
  });
  const logger = createLogger(
    options.log?.level ?? 'warn',
    options.log?.destination,
    logSecrets(config),
  );
  const redis = await connectRedis(REDIS_URL, logger);
  const gameWorker = await t.startWorker(
    createFarmActivities({ redis, keyPrefix, userHashSecret: TEST_SECRET }),
    t.taskQueue,
  );
  let service: BotService;
  try {
    service = await startBotService({
      config,
      logger,
      redis,
      connection: t.nativeConnection,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      taskQueues: {
        game: t.taskQueue,
        mainMenu: `${t.taskQueue}-menu`,
        notifications: notificationsTaskQueue,
      },
      workingAfterMs: options.workingAfterMs,
      schedules: { idPrefix: scheduleIdPrefix, taskQueue: scheduleTaskQueue },
      adminOptional: options.admin?.optional,
    });
  } catch (err) {
    // A start that fails (as a test may want it to) leaves nothing running.
    await t.close();
    await api.close();
    await redis.close();
    throw err;
  }
  return {
    api,
    service,
    t,
    redis,
    keyPrefix,
    webhookUrl,
    gameWorker,
    adminPort,
    scheduleIdPrefix,
    scheduleTaskQueue,
    notificationsTaskQueue,
    async close() {
      await service.stop();
      await t.close();
      await api.close();
      await redis.close();
    },
  };
}

let nextUser = 100_000 + Math.floor(Math.random() * 1e8);
/** A new Telegram user each call (private chat id = user id, as Telegram has it). */
export function newTelegramUser() {
  nextUser += 1;
  return { id: nextUser, first_name: `Farmer ${nextUser}` };
}
