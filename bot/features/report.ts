/**
 * 📊 Report: the bot answers at once with "Preparing your report…", and FarmReportWorkflow later
 * replaces that message with the picture (bot/reports.ts, activities/report.ts). A press while a
 * report is being made points to it instead of starting another; a redelivered press reuses the
 * message its first delivery sent.
 */
import { Composer } from 'grammy';
import type { ButtonPress } from '../callback-data';
import { type BotContext, playerOf } from '../context';
import { answerButton, replyText } from '../reply';
import { NoFarmError } from '../reports';
import { keyspace } from '../../store/redis';

export const reportFeature = new Composer<BotContext>();
const privateChats = reportFeature.chatType('private');

export const PREPARING_TEXT = '📊 Preparing your report…';
export const ALREADY_PREPARING_TEXT = '📊 Your report is on its way: it will appear above.';
const NO_FARM_TEXT = 'You have no farm yet: send /start to make one, then ask for a report.';
const UNAVAILABLE_TEXT = "📊 Reports can't be made right now. Please try again later.";

/** Telegram redelivers an update for up to 24 hours: the press's message is remembered as long. */
const PRESS_MARK_TTL_SECONDS = 24 * 60 * 60;

const pressed = <C extends BotContext>(
  ctx: C,
): ctx is C & { button: Extract<ButtonPress, { kind: 'report' }> } => ctx.button?.kind === 'report';

privateChats.filter(pressed, async (ctx) => {
  const player = playerOf(ctx);
  const { reports, game, redis, keyPrefix, logger } = ctx.services;
  if (!player) return;
  if (!reports) {
    await answerButton(ctx, UNAVAILABLE_TEXT);
    return;
  }
  await answerButton(ctx);
  const userHash = game.userHashOf(player.telegramUserId);
  const mark = keyspace(keyPrefix)('report-press', String(ctx.update.update_id));

  // The message the picture replaces, and the report it is for: a first delivery's, if any.
  const first = JSON.parse((await redis.get(mark)) ?? '{}') as {
    messageId?: number;
    reportId?: string;
  };
  if (first.reportId) return; // this press started (or found) its report already
  let messageId = first.messageId;
  if (messageId === undefined) {
    messageId = (await ctx.reply(PREPARING_TEXT)).message_id;
    await redis.set(mark, JSON.stringify({ messageId }), { EX: PRESS_MARK_TTL_SECONDS });
  }
  try {
    const { reportId, started } = await reports.start(userHash, {
      sealedChatId: game.sealChatId(player.chatId),
      messageId,
    });
    await redis.set(mark, JSON.stringify({ messageId, reportId }), { EX: PRESS_MARK_TTL_SECONDS });
    if (!started) {
      await ctx.api
        .editMessageText(player.chatId, messageId, ALREADY_PREPARING_TEXT)
        .catch((err: unknown) =>
          logger.debug({ err, updateId: ctx.update.update_id }, 'not edited'),
        );
    }
  } catch (err) {
    if (!(err instanceof NoFarmError)) throw err; // 503: Telegram delivers the press again
    await ctx.api
      .editMessageText(player.chatId, messageId, NO_FARM_TEXT)
      .catch(() => replyText(ctx, NO_FARM_TEXT));
  }
});
