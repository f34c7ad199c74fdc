/**
 * Per-player inbound limit: a player flooding the bot (say 50 messages a second) is slowed
 * politely, once, and the rest of the flood is dropped before it costs a workflow; other players
 * are unaffected. The budget lives in Redis, so it holds across bot processes.
 */
import type { MiddlewareFn } from 'grammy';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisClient } from '../store/redis';
import { answerButton, replyText } from './reply';
import type { BotContext } from './context';
import { SLOW_DOWN_TEXT } from './render';

export interface ThrottleOptions {
  redis: RedisClient;
  keyPrefix: string;
  /** Updates a player may send per window: enough for quick play, well below a flood. */
  points?: number;
  windowSeconds?: number;
}

/** Updates a player may send per window before being slowed down, by default. */
export const DEFAULT_THROTTLE = { points: 8, windowSeconds: 2 };

export function throttlePlayers(options: ThrottleOptions): MiddlewareFn<BotContext> {
  const points = options.points ?? DEFAULT_THROTTLE.points;
  const limiter = new RateLimiterRedis({
    storeClient: options.redis,
    useRedisPackage: true,
    keyPrefix: `${options.keyPrefix}throttle`,
    points,
    duration: options.windowSeconds ?? DEFAULT_THROTTLE.windowSeconds,
  });

  return async (ctx, next) => {
    const userId = ctx.from?.id;
    if (userId === undefined) return next();
    try {
      await limiter.consume(throttleKey(userId, ctx.services.game.userHashOf));
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const firstOver = rejection.consumedPoints === points + 1;
      if (ctx.callbackQuery) {
        await answerButton(ctx, firstOver ? SLOW_DOWN_TEXT : undefined);
      } else if (firstOver && ctx.chat?.type === 'private' && ctx.message) {
        await replyText(ctx, SLOW_DOWN_TEXT);
      }
      ctx.services.logger.debug({ updateId: ctx.update.update_id }, 'player throttled');
      return;
    }
    return next();
  };
}

/**
 * The player's support code: a raw Telegram id never becomes part of a Redis key. Telegram's user
 * ids are positive, but a forged update may carry 0 or a negative id, which the support code does
 * not take: those map one to one onto positive ids in a key space of their own, so each is
 * throttled like any other id. An id that is no safe integer at all shares one bucket.
 */
export function throttleKey(userId: number, userHashOf: (id: number) => string): string {
  if (!Number.isSafeInteger(userId) || !Number.isSafeInteger(1 - userId)) return 'malformed';
  return userId > 0 ? userHashOf(userId) : `nonpositive:${userHashOf(1 - userId)}`;
}
