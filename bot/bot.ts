/**
 * The grammY bot: one Context type, one feature per file, all behind an error boundary, the
 * unhandled-update feature last. The bot keeps no game state: every update becomes a workflow.
 */
import { Bot, type BotConfig } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import { apologise } from './apology';
import { parseButton } from './callback-data';
import type { BotContext, BotServices } from './context';
import { needsRedelivery } from './failures';
import { actionsFeature } from './features/actions';
import { farmFeature } from './features/farm';
import { helpFeature } from './features/help';
import { leaderboardFeature } from './features/leaderboard';
import { reportFeature } from './features/report';
import { membershipFeature } from './features/membership';
import { unhandledFeature } from './features/unhandled';
import { throttlePlayers } from './throttle';
import { metrics, updateKind } from '../infra/metrics';

export interface BotDeps {
  token: string;
  apiRoot: string;
  /** Known bot identity (skips getMe at start); otherwise `bot.init()` fetches it. */
  botInfo?: UserFromGetMe;
  services: BotServices;
}

/**
 * The longest one Bot API call may take (grammY's default is 500 s): within the webhook's
 * deadline, so that a Telegram that accepts and never answers fails the call, not the process.
 */
export const BOT_API_TIMEOUT_SECONDS = 10;

export function createBot(deps: BotDeps): Bot<BotContext> {
  const config: BotConfig<BotContext> = {
    client: { apiRoot: deps.apiRoot, timeoutSeconds: BOT_API_TIMEOUT_SECONDS },
  };
  if (deps.botInfo) config.botInfo = deps.botInfo;
  const bot = new Bot<BotContext>(deps.token, config);

  bot.use(async (ctx, next) => {
    metrics.updatesReceived.inc({ kind: updateKind(ctx.update) });
    ctx.services = deps.services;
    ctx.button = null;
    try {
      // Untrusted input: Telegram's data is a string, but a forged update may carry anything.
      const data: unknown = ctx.callbackQuery?.data;
      if (typeof data === 'string') ctx.button = parseButton(data);
      await next();
    } catch (err) {
      // Overloaded, a dependency down, the workflow may still run, or the reply did not go out:
      // the webhook answers 503 and Telegram redelivers later. Anything else will fail again.
      if (needsRedelivery(err)) throw err;
      deps.services.logger.error({ err, updateId: ctx.update.update_id }, 'update failed');
      await apologise(ctx);
    }
  });
  bot.use(throttlePlayers({ redis: deps.services.redis, keyPrefix: deps.services.keyPrefix }));
  bot.use(farmFeature, actionsFeature, helpFeature, leaderboardFeature, reportFeature);
  bot.use(membershipFeature);
  bot.use(unhandledFeature);
  return bot;
}
