/**
 * The worker of the notifications task queue, in the bot process: it holds the token and the
 * outgoing pacing, so the worker processes never get TELEGRAM_*. The Temporal server holds the
 * queue to `perSecond` activities a second across every bot process; the pacing (bot/outgoing.ts)
 * counts each send against the same per-chat and overall budgets as the replies, plus the
 * notifications' own, so a broadcast never takes the replies' share.
 */
import type { DataConverter } from '@temporalio/common';
import type { NativeConnection } from '@temporalio/worker';
import { Api } from 'grammy';
import { createNotificationActivities } from '../activities/notifications';
import { chatIdKeyring } from '../infra/identity';
import type { Logger } from '../infra/logging';
import type { RedisClient } from '../store/redis';
import { createWorker, runWorker } from '../worker/create-worker';
import { BOT_API_TIMEOUT_SECONDS } from './bot';
import { renderNotification } from './notifications';
import { installOutgoing, type OutgoingLimits } from './outgoing';

export interface NotificationsWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  dataConverter: DataConverter;
  token: string;
  apiRoot: string;
  /** The queue's rate (server-enforced) and the notifications' share of the pacing. */
  perSecond: number;
  redis: RedisClient;
  keyPrefix: string;
  userHashSecret: string;
  logger: Logger;
  /** Tests lower the other limits; the notifications' rate is always `perSecond`. */
  limits?: Partial<OutgoingLimits>;
}

export interface NotificationsWorker {
  stop(): Promise<void>;
}

export async function startNotificationsWorker(
  deps: NotificationsWorkerDeps,
): Promise<NotificationsWorker> {
  // An Api of its own, so that pacing knows these calls are notifications.
  const api = new Api(deps.token, {
    apiRoot: deps.apiRoot,
    timeoutSeconds: BOT_API_TIMEOUT_SECONDS,
  });
  installOutgoing(api, {
    redis: deps.redis,
    keyPrefix: deps.keyPrefix,
    logger: deps.logger,
    sender: 'notifications',
    limits: { ...deps.limits, notificationsPerSecond: deps.perSecond },
  });
  const worker = await createWorker({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    dataConverter: deps.dataConverter,
    maxTaskQueueActivitiesPerSecond: deps.perSecond,
    activities: createNotificationActivities({
      api,
      chatIdKeys: chatIdKeyring(deps.userHashSecret),
      render: renderNotification,
      redis: deps.redis,
      keyPrefix: deps.keyPrefix,
    }),
  });
  const running = runWorker(worker);
  running.done.catch((err: unknown) => deps.logger.fatal({ err }, 'notifications worker failed'));
  deps.logger.info(
    { taskQueue: deps.taskQueue, perSecond: deps.perSecond },
    'sending notifications',
  );
  return { stop: running.stop };
}
