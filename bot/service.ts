/**
 * Everything the bot process runs, for `npm run start:bot`, `npm start` and the tests: the worker
 * for the per-message workflows (so they start eagerly on this process's connection), the grammY
 * bot on Telegram's Bot API (webhook or long polling), the worker that sends the farms'
 * notifications, the public HTTP server, and the admin HTTP server (admin API, support API and
 * console) on a listener of its own when ADMIN_TOKEN or SUPPORT_TOKENS is set.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@temporalio/client';
import { type NativeConnection, type WorkflowBundleOption } from '@temporalio/worker';
import type { Bot } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import { createMainMenuActivities } from '../activities/main-menu';
import { createGameClient, type GameClient } from './game-client';
import { createEarlyAnswers } from '../activities/early-answers';
import { TASK_QUEUES } from '../workflows/contract';
import type { Config } from '../infra/config';
import type { Logger } from '../infra/logging';
import { createPlayerRegistry } from '../store/players';
import type { RedisClient } from '../store/redis';
import { createWorker, runWorker } from '../worker/create-worker';
import { OWNED_ID_PREFIX, scheduleDefinitions } from '../schedules/catalog';
import { createScheduleOperations } from '../schedules/engine';
import { type AdminApp, buildAdminApp } from './admin/app';
import { createBatchOperations } from '../schedules/batches';
import { createCompensations } from './support/compensation';
import { createStoryReader } from './support/story';
import { buildApp, type ExtraRoutes } from './app';
import { createBot } from './bot';
import type { BotContext } from './context';
import { startNotificationsWorker, type NotificationsWorker } from './notifications-worker';
import { createReportLinks, createReports, type Reports } from './reports';
import { startReportsWorker, type ReportsWorker } from './reports-worker';
import { checkSharedFilesDir, farmflowDataConverter } from '../store/payload-files';
import { createReportFiles } from '../store/report-files';
import { installOutgoing } from './outgoing';
import { type DependencyCheck, temporalReachable } from '../infra/health-routes';
import { clientTracing } from '../infra/tracing';

/**
 * Update kinds the bot handles; Telegram does not send the others at all. No feature acts on an
 * edited message (commands and hints answer new messages only), so edits are not asked for.
 */
export const ALLOWED_UPDATES = ['message', 'callback_query', 'my_chat_member'] as const;

/** Per-message workflows this process's main-menu worker runs at once (the SDK's default). */
const MAIN_MENU_WORKFLOW_TASK_SLOTS = 40;
/**
 * Intents the game client runs at once; later ones wait in this process, first come first
 * served. Kept below the slots (an intent's early answer frees its turn a little before its
 * workflow task completes), so that starts find a free slot and are eager: under overload, a
 * start that is not waits in Temporal's task queue while newer eager starts keep overtaking it
 * (bench:bot saw a third of the updates answered after 15 s, the rest within one).
 */
export const MAX_INTENTS_IN_FLIGHT = 32;
/**
 * An update that waited this long for its turn is answered 503 without having started, and
 * Telegram delivers it again later: a queue that long means the process is overloaded or stuck.
 */
const MAX_INTENT_WAIT_MS = 15_000;
/**
 * One admin operation's gRPC deadline, all its Temporal calls together (then 503). Above the 5 s
 * the dev server sometimes holds a schedule's describe; a stop does not wait it out (the admin
 * routes cancel what is in flight shortly after the server starts closing).
 */
export const ADMIN_CALL_TIMEOUT_MS = 10_000;
/** getUpdates' long poll: within the bound of every Bot API call (BOT_API_TIMEOUT_SECONDS). */
const POLL_TIMEOUT_SECONDS = 5;
/**
 * Pauses between setWebhook attempts at start (each call bounded like every Bot API call): about
 * half a minute in all, then the start fails and the supervisor sees a bot that is not ready.
 */
const WEBHOOK_REGISTRATION_DELAYS_MS = [1_000, 2_000, 4_000, 8_000, 15_000];

export interface BotServiceDeps {
  config: Config;
  logger: Logger;
  redis: RedisClient;
  connection: NativeConnection;
  workflowBundle: WorkflowBundleOption;
  botInfo?: UserFromGetMe;
  /** Tests run on task queues of their own (notifications: TASK_QUEUES.notifications when absent). */
  taskQueues?: { mainMenu: string; game: string; notifications?: string; reports?: string };
  farmMaxHistoryEvents?: number;
  workingAfterMs?: number;
  /** `npm start` without a token: the web chat page, for the local Bot API server's players. */
  extraRoutes?: ExtraRoutes;
  /** Tests own their schedules: an id prefix of their own, workflows on a queue of their own. */
  schedules?: { idPrefix: string; taskQueue: string };
  /**
   * `npm start`'s own admin token: a listener that cannot start (its port taken) leaves the admin
   * API off with a warning instead of stopping the game. Otherwise it stops the start.
   */
  adminOptional?: boolean;
}

export interface BotService {
  game: GameClient;
  bot: Bot<BotContext> | undefined;
  /** Where the public HTTP server listens. */
  url: string;
  /** Where the admin HTTP server listens; undefined when it is off. */
  adminUrl: string | undefined;
  stop(): Promise<void>;
}

export async function startBotService(deps: BotServiceDeps): Promise<BotService> {
  const { config, logger, redis, connection } = deps;
  const queues = deps.taskQueues ?? { mainMenu: TASK_QUEUES.mainMenu, game: TASK_QUEUES.game };
  const notificationsTaskQueue = deps.taskQueues?.notifications ?? TASK_QUEUES.notifications;
  const schedules = deps.schedules ?? { idPrefix: OWNED_ID_PREFIX, taskQueue: queues.game };
  await checkSharedFilesDir(config.sharedFilesDir);
  logger.info(
    { sharedFilesDir: config.sharedFilesDir },
    'shared files (payloads by reference, reports)',
  );
  const dataConverter = farmflowDataConverter(config.sharedFilesDir);
  const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter });
  const earlyAnswers = createEarlyAnswers();
  const worker = await createWorker({
    connection,
    namespace: config.temporal.namespace,
    dataConverter,
    taskQueue: queues.mainMenu,
    maxConcurrentWorkflowTaskExecutions: MAIN_MENU_WORKFLOW_TASK_SLOTS,
    workflowBundle: deps.workflowBundle,
    activities: createMainMenuActivities({
      client,
      redis,
      keyPrefix: config.redis.keyPrefix,
      timeScale: config.gameTimeScale,
      gameTaskQueue: queues.game,
      farmMaxHistoryEvents: deps.farmMaxHistoryEvents,
      notificationsTaskQueue,
      earlyAnswers,
      logger,
    }),
  });
  const { done: workerDone, stop: stopWorker } = runWorker(worker);
  workerDone.catch((err: unknown) => logger.fatal({ err }, 'main-menu worker failed'));

  const game = createGameClient({
    // Per-message workflows start inside the update's trace (the activities' client does not
    // trace: a farm started from it would carry its first trace for good).
    client: new Client({
      connection,
      namespace: config.temporal.namespace,
      dataConverter,
      interceptors: { workflow: clientTracing() },
    }),
    userHashSecret: config.userHashSecret,
    taskQueue: queues.mainMenu,
    earlyAnswers,
    maxInFlight: MAX_INTENTS_IN_FLIGHT,
    maxWaitMs: MAX_INTENT_WAIT_MS,
  });
  const players = createPlayerRegistry(redis, config.redis.keyPrefix);
  const readinessChecks: Record<string, DependencyCheck> = {
    temporal: temporalReachable(connection),
    redis: () => redis.ping(),
  };
  let bot: Bot<BotContext> | undefined;
  const { telegram } = config;
  const servers: { close(): Promise<unknown> }[] = [];
  const closeServers = () => Promise.all(servers.map((server) => server.close()));
  let notifications: NotificationsWorker | undefined;
  let reportsWorker: ReportsWorker | undefined;
  const stopWorkers = async () => {
    await Promise.all([notifications?.stop(), reportsWorker?.stop()]);
    await stopWorker();
  };
  const reportFiles = createReportFiles(config.sharedFilesDir);
  const reportLinks = createReportLinks(config.userHashSecret);
  let reports: Reports | undefined;
  try {
    if (telegram.token) {
      const reportsTaskQueue = deps.taskQueues?.reports;
      reportsWorker = await startReportsWorker({
        connection,
        client,
        dataConverter,
        namespace: config.temporal.namespace,
        token: telegram.token,
        apiRoot: telegram.apiRoot,
        redis,
        keyPrefix: config.redis.keyPrefix,
        userHashSecret: config.userHashSecret,
        files: reportFiles,
        links: reportLinks,
        publicUrl: config.reports.publicUrl,
        workRoot: join(tmpdir(), 'farmflow-report-files'),
        logger,
        ...(reportsTaskQueue ? { taskQueue: reportsTaskQueue } : {}),
      });
      reports = createReports({
        client,
        files: reportFiles,
        gameTaskQueue: queues.game,
        keepMs: config.reports.keepMs,
        ...(reportsTaskQueue ? { workflowOptions: { reportsTaskQueue } } : {}),
      });
      bot = createBot({
        token: telegram.token,
        apiRoot: telegram.apiRoot,
        botInfo: deps.botInfo,
        services: {
          game,
          players,
          redis,
          keyPrefix: config.redis.keyPrefix,
          logger: logger.child({ component: 'bot' }),
          workingAfterMs: deps.workingAfterMs ?? 1000,
          reports,
        },
      });
      installOutgoing(bot.api, {
        redis,
        keyPrefix: config.redis.keyPrefix,
        logger,
        onBlocked: async (chatId: number) => players.setActive(game.userHashOf(chatId), false),
      });
      await bot.init();
      notifications = await startNotificationsWorker({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: notificationsTaskQueue,
        dataConverter,
        token: telegram.token,
        apiRoot: telegram.apiRoot,
        perSecond: config.notificationsPerSecond,
        redis,
        keyPrefix: config.redis.keyPrefix,
        userHashSecret: config.userHashSecret,
        logger,
      });
    } else {
      // Only `npm start` runs without a token, and it then brings a local Bot API server and its
      // token: this is a bot process that serves no bot, so it sends nothing either.
      logger.info(
        { taskQueue: notificationsTaskQueue },
        'notifications off: no TELEGRAM_BOT_TOKEN, so this process does not poll the notifications queue (they wait there for a bot process that has one)',
      );
    }

    const webhook =
      bot && telegram.mode === 'webhook' ? { bot, secret: telegram.webhookSecret! } : undefined;
    // Updates are taken from the moment the server listens (another replica's registration may
    // already send them here), but the process is ready only once it registered the webhook too.
    let webhookRegistered = false;
    if (webhook) {
      readinessChecks.webhook = async () => {
        if (!webhookRegistered) throw new Error('not registered with Telegram yet');
      };
    }
    const app = await buildApp({
      logger,
      readinessChecks,
      webhook,
      reports: reports && {
        reports,
        links: reportLinks,
        tokens: config.support.tokens,
        redis,
        keyPrefix: config.redis.keyPrefix,
      },
      extraRoutes: deps.extraRoutes,
    });
    servers.push(app);
    const url = await app.listen({ host: config.http.host, port: config.http.port });

    const admin = await startAdminServer({
      config,
      logger,
      redis,
      client,
      schedules,
      optional: deps.adminOptional ?? false,
    });
    if (admin) servers.push(admin.app);

    if (webhook) {
      await registerWebhook(webhook.bot, telegram.webhookUrl!, telegram.webhookSecret!, logger);
      webhookRegistered = true;
      logger.info({ mode: 'webhook' }, 'telegram bot ready');
    } else if (bot) {
      // Long polling confirms an update when it fetches the next batch: a failed one is not
      // redelivered, so log it (webhook mode answers 503 and Telegram redelivers instead).
      bot.catch((err) =>
        logger.error({ err: err.error, updateId: err.ctx.update.update_id }, 'update lost'),
      );
      await bot.api.deleteWebhook();
      void bot.start({
        allowed_updates: [...ALLOWED_UPDATES],
        timeout: POLL_TIMEOUT_SECONDS,
        onStart: () => logger.info({ mode: 'polling' }, 'telegram bot ready'),
      });
    }

    return {
      game,
      bot,
      url,
      adminUrl: admin?.url,
      async stop() {
        if (bot?.isRunning()) await bot.stop();
        await closeServers();
        await stopWorkers();
      },
    };
  } catch (err) {
    await closeServers();
    await stopWorkers();
    throw err;
  }
}

/**
 * Registers this process's webhook, as every bot process does at start: all replicas register
 * the same URL, secret and update kinds, so a second registration changes nothing, and none ever
 * deletes it or drops pending updates (a stopping replica would cut off the others). Telegram
 * answers 429 to registrations close together: the outgoing layer waits its retry_after, and any
 * other failure is tried again after a pause.
 */
async function registerWebhook(bot: Bot<BotContext>, url: string, secret: string, logger: Logger) {
  for (let attempt = 0; ; attempt++) {
    try {
      await bot.api.setWebhook(url, {
        secret_token: secret,
        allowed_updates: [...ALLOWED_UPDATES],
        drop_pending_updates: false,
      });
      logger.info({ attempt: attempt + 1 }, 'webhook registered');
      return;
    } catch (err) {
      const delay = WEBHOOK_REGISTRATION_DELAYS_MS[attempt];
      if (delay === undefined) throw err;
      logger.warn({ err, retryInMs: delay }, 'webhook registration failed; trying again');
      await sleep(delay);
    }
  }
}

/**
 * The admin listener (admin API, support API, console) when ADMIN_TOKEN or SUPPORT_TOKENS is set;
 * undefined when it is off (one log line says why). A listener that cannot start stops the start,
 * unless `optional`.
 */
async function startAdminServer(deps: {
  config: Config;
  logger: Logger;
  redis: RedisClient;
  client: Client;
  schedules: { idPrefix: string; taskQueue: string };
  optional: boolean;
}) {
  const { config, logger, schedules } = deps;
  const { token, host, port } = config.admin;
  if (!token && config.support.tokens.length === 0) {
    logger.info(
      'admin API, support API and console off: neither ADMIN_TOKEN nor SUPPORT_TOKENS is set (set one to serve them on ADMIN_HTTP_HOST:ADMIN_HTTP_PORT)',
    );
    return undefined;
  }
  if (!token)
    logger.info('admin API off: ADMIN_TOKEN is not set (the support API and console are on)');
  let app: AdminApp | undefined;
  try {
    app = await buildAdminApp({
      logger,
      token,
      support: {
        tokens: config.support.tokens,
        grantMaxCoins: config.support.grantMaxCoins,
        story: createStoryReader({
          client: deps.client,
          namespace: config.temporal.namespace,
          temporalUiUrl: config.support.temporalUiUrl,
          redis: { redis: deps.redis, keyPrefix: config.redis.keyPrefix },
        }),
        compensations: createCompensations({
          client: deps.client,
          gameTaskQueue: schedules.taskQueue,
          maxCoins: config.support.grantMaxCoins,
        }),
      },
      redis: deps.redis,
      keyPrefix: config.redis.keyPrefix,
      // Checks the definitions: a designer's typo in schedules/ is reported here, by name.
      operations: createScheduleOperations({
        client: deps.client,
        definitions: scheduleDefinitions({
          timeScale: config.gameTimeScale,
          taskQueue: schedules.taskQueue,
          idPrefix: schedules.idPrefix,
        }),
        idPrefix: schedules.idPrefix,
        logger,
        timeoutMs: ADMIN_CALL_TIMEOUT_MS,
      }),
      batches: createBatchOperations({
        client: deps.client,
        gameTaskQueue: schedules.taskQueue,
        redis: async () => ({ redis: deps.redis, keyPrefix: config.redis.keyPrefix }),
        timeoutMs: ADMIN_CALL_TIMEOUT_MS,
      }),
      cancellable: (signal, call) => deps.client.withAbortSignal(signal, call),
    });
    const url = await app.listen({ host, port });
    logger.info({ url }, 'admin API listening');
    return { app, url };
  } catch (err) {
    await app?.close();
    if (!deps.optional) throw err;
    logger.warn(
      { err, host, port },
      'admin API off: it could not start (invalid schedule definitions, or its port is taken: set ADMIN_HTTP_PORT)',
    );
    return undefined;
  }
}
