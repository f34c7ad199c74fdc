/**
 * The notifications task queue's activity, run by the bot process (it holds the token and the
 * outgoing pacing): opens the player's sealed chat id and sends what the farm decided to tell
 * them. The farm has already checked preferences and reachability; this checks the time (an
 * announcement never goes out after its event) and reports a chat that blocked the bot.
 *
 * Sent once, however often Temporal runs it: an attempt whose completion was lost (the bot process
 * killed, the Temporal server restarted) runs again, and Telegram has no idempotency key, so a
 * sent message leaves a mark in Redis that a later attempt finds. Only a process that dies between
 * Telegram's answer and the mark's write sends it twice (the chaos play saw 5 doubles in 100
 * reward messages through a server restart without the mark).
 */
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { type Api, GrammyError, type InlineKeyboard } from 'grammy';
import { type ChatIdKeyring, decryptChatId, SealedChatIdError } from '../infra/identity';
import { keyspace, type RedisClient } from '../store/redis';
import { metrics } from '../infra/metrics';
import type {
  NotificationActivities,
  NotificationContent,
  SendNotificationInput,
  SendNotificationResult,
} from '../workflows/contract';

export interface NotificationActivityDeps {
  /** A Bot API client whose outgoing calls are paced as notifications (bot/outgoing.ts). */
  api: Api;
  /** Opens sealed chat ids (the bot's keys). */
  chatIdKeys: ChatIdKeyring;
  /** The message as Telegram shows it (bot/notifications.ts), rendered at the time it is sent. */
  render(content: NotificationContent, nowMs: number): { text: string; keyboard: InlineKeyboard };
  /** Where the sent marks live. */
  redis: RedisClient;
  keyPrefix: string;
}

/** Longer than any notification's schedule-to-close (a reward's is 24 h), so retries all see it. */
const SENT_MARK_TTL_SECONDS = 48 * 60 * 60;

/** Telegram's 400 for a chat the bot never talked to (or one that no longer exists). */
const CHAT_NOT_FOUND = /chat not found/i;

export function createNotificationActivities(
  deps: NotificationActivityDeps,
): NotificationActivities {
  // A notification id names what is said (`crops-ready-<time>`, an announcement's batch), not to
  // whom: the mark is the player's.
  const sentMark = ({ userHash, notificationId }: SendNotificationInput) =>
    keyspace(deps.keyPrefix)('notification-sent', userHash, notificationId);
  /**
   * Every attempt is counted as it ends: sent, skipped (by reason; `already sent`: an earlier
   * attempt sent it and was counted then), or failed (Temporal retries it, unless it is a refusal).
   */
  const counted = async (input: SendNotificationInput): Promise<SendNotificationResult> => {
    if ((await deps.redis.exists(sentMark(input))) === 1) {
      log.info('notification already sent by an earlier attempt', {
        notificationId: input.notificationId,
      });
      metrics.notifications.inc({ outcome: 'skipped', reason: 'already sent' });
      return { outcome: 'sent' };
    }
    try {
      const result = await send(input);
      metrics.notifications.inc(
        result.outcome === 'sent'
          ? { outcome: 'sent', reason: '' }
          : { outcome: 'skipped', reason: result.skipped },
      );
      return result;
    } catch (err) {
      metrics.notifications.inc({ outcome: 'failed', reason: '' });
      throw err;
    }
  };
  return { sendNotification: counted };

  async function send(input: SendNotificationInput): Promise<SendNotificationResult> {
    const expired = () => input.notAfterMs !== undefined && Date.now() >= input.notAfterMs;
    if (expired()) {
      log.info('notification expired before its turn', { notificationId: input.notificationId });
      return { outcome: 'skipped', skipped: 'expired' };
    }
    let chatId: number;
    try {
      chatId = decryptChatId(input.sealedChatId, deps.chatIdKeys);
    } catch (err) {
      if (!(err instanceof SealedChatIdError)) throw err;
      // Another USER_HASH_SECRET sealed it (or it was altered): no retry can open it.
      log.error('cannot open the sealed chat id of a notification', { problem: err.problem });
      return { outcome: 'skipped', skipped: 'no chat' };
    }

    // The wait for a send turn ends with the activity (cancelled, or the worker stopping) or
    // at notAfterMs, whichever comes first: nothing goes out after the event it announces.
    const cancelled = Context.current().cancellationSignal;
    const signal =
      input.notAfterMs === undefined
        ? cancelled
        : AbortSignal.any([
            cancelled,
            AbortSignal.timeout(Math.max(0, input.notAfterMs - Date.now())),
          ]);
    const { text, keyboard } = deps.render(input.content, Date.now());
    try {
      await deps.api.sendMessage(
        chatId,
        text,
        { parse_mode: 'HTML', reply_markup: keyboard },
        // grammY types its signal with a polyfill's AbortSignal; Node's is the one it gets.
        signal as unknown as Parameters<Api['sendMessage']>[3],
      );
    } catch (err) {
      if (expired() && !cancelled.aborted) {
        log.info('notification expired while waiting for its turn', {
          notificationId: input.notificationId,
        });
        return { outcome: 'skipped', skipped: 'expired' };
      }
      if (err instanceof GrammyError && err.error_code === 403) {
        // Blocked, deactivated, kicked: the farm marks the player unreachable.
        log.info('notification not sent: the player blocked the bot', {
          notificationId: input.notificationId,
        });
        return { outcome: 'skipped', skipped: 'blocked' };
      }
      if (err instanceof GrammyError && err.error_code === 400) {
        if (CHAT_NOT_FOUND.test(err.description)) {
          return { outcome: 'skipped', skipped: 'no chat' };
        }
        // The same message would be refused again: a bug to fix, not a moment to wait out.
        throw ApplicationFailure.nonRetryable(
          `Telegram refused the notification: ${err.description}`,
          'NotificationRefused',
        );
      }
      throw err; // 429 after the retries, 5xx, no answer, no send turn: Temporal retries later
    }
    try {
      await deps.redis.set(sentMark(input), String(Date.now()), {
        EX: SENT_MARK_TTL_SECONDS,
      });
    } catch (err) {
      // Sent all the same: failing now would send it again.
      log.warn('notification sent, but its mark was not written', {
        notificationId: input.notificationId,
        error: String(err),
      });
    }
    log.info('notification sent', { notificationId: input.notificationId });
    return { outcome: 'sent' };
  }
}
