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
    if (!userId) return next();
    try {
      await limiter.consume(ctx.services.game.userHashOf(userId));
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
