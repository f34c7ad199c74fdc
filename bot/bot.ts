/**
 * The grammY bot: one Context type, one feature per file, all behind an error boundary, the
 * unhandled-update feature last. The bot keeps no game state: every update becomes a workflow.
 */
import { Bot, type BotConfig } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import { GameBusyError } from '../client';
import { apologise } from './apology';
import { parseButton } from './callback-data';
import type { BotContext, BotServices } from './context';
import { actionsFeature } from './features/actions';
import { farmFeature } from './features/farm';
import { helpFeature } from './features/help';
import { leaderboardFeature } from './features/leaderboard';
import { membershipFeature } from './features/membership';
import { unhandledFeature } from './features/unhandled';
import { throttlePlayers } from './throttle';

export interface BotDeps {
  token: string;
  apiRoot: string;
  /** Known bot identity (skips getMe at start); otherwise `bot.init()` fetches it. */
  botInfo?: UserFromGetMe;
  services: BotServices;
  /**
   * True when Temporal or Redis cannot be reached: the error is then rethrown so the webhook
   * answers 503 and Telegram redelivers; any other error is a bug, logged and answered politely.
   */
  isUnavailable: (err: unknown) => Promise<boolean>;
}

export function createBot(deps: BotDeps): Bot<BotContext> {
  const config: BotConfig<BotContext> = { client: { apiRoot: deps.apiRoot } };
  if (deps.botInfo) config.botInfo = deps.botInfo;
  const bot = new Bot<BotContext>(deps.token, config);

  bot.use(async (ctx, next) => {
    ctx.services = deps.services;
    ctx.button = ctx.callbackQuery ? parseButton(ctx.callbackQuery.data) : null;
    try {
      await next();
    } catch (err) {
      // Overloaded or a dependency down: the webhook answers 503 and Telegram redelivers later.
      if (err instanceof GameBusyError || (await deps.isUnavailable(err))) throw err;
      deps.services.logger.error({ err, updateId: ctx.update.update_id }, 'update failed');
      await apologise(ctx);
    }
  });
  bot.use(throttlePlayers({ redis: deps.services.redis, keyPrefix: deps.services.keyPrefix }));
  bot.use(farmFeature, actionsFeature, helpFeature, leaderboardFeature, membershipFeature);
  bot.use(unhandledFeature);
  return bot;
}
