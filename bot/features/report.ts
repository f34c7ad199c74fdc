/**
 * 📊 Report: the bot answers at once with "Preparing your report…", and FarmReportWorkflow later
 * replaces that message with the picture (bot/reports.ts, activities/report.ts). A press while a
 * report is being made points to it instead of starting another. A press is one report, however
 * often Telegram delivers it: its report id and its message are claimed once, in Redis, for the
 * 24 hours Telegram redelivers.
 */
import { Composer } from 'grammy';
import type { ButtonPress } from '../callback-data';
import { type BotContext, playerOf } from '../context';
import { answerButton, replyText } from '../reply';
import { newReportId, NoFarmError } from '../reports';
import { keyspace } from '../../store/redis';

export const reportFeature = new Composer<BotContext>();
const privateChats = reportFeature.chatType('private');

export const PREPARING_TEXT = '📊 Preparing your report…';
export const ALREADY_PREPARING_TEXT = '📊 Your report is on its way: it will appear above.';
export const PREPARING_ELSEWHERE_TEXT =
  '📊 A report of your farm is being made already (asked for outside this chat). Press 📊 Report again in a moment.';
const NO_FARM_TEXT = 'You have no farm yet: send /start to make one, then ask for a report.';
const UNAVAILABLE_TEXT = "📊 Reports can't be made right now. Please try again later.";

/** Telegram redelivers an update for up to 24 hours: the press's claim is kept as long. */
const PRESS_MARK_TTL_SECONDS = 24 * 60 * 60;

/** What a press claimed: its report id, and the message its picture replaces once sent. */
interface PressMark {
  reportId: string;
  messageId?: number;
}

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
  const save = (press: PressMark) =>
    redis.set(mark, JSON.stringify(press), { EX: PRESS_MARK_TTL_SECONDS });

  const fresh: PressMark = { reportId: newReportId(userHash) };
  const claimed = await redis.set(mark, JSON.stringify(fresh), {
    NX: true,
    EX: PRESS_MARK_TTL_SECONDS,
  });
  const press = claimed
    ? fresh
    : (JSON.parse((await redis.get(mark)) ?? JSON.stringify(fresh)) as PressMark);
  if (!claimed) {
    // A delivery again: done with if its report was started (its run says how it went).
    const { status } = await reports.status(press.reportId);
    if (status !== 'unknown') return;
  }
  if (press.messageId === undefined) {
    press.messageId = (await ctx.reply(PREPARING_TEXT)).message_id;
    await save(press);
  }
  try {
    const report = await reports.start(userHash, {
      reportId: press.reportId,
      telegram: { sealedChatId: game.sealChatId(player.chatId), messageId: press.messageId },
    });
    if (report.ours) return;
    // Another request's report runs: this press's message says where its picture will be.
    await ctx.api
      .editMessageText(
        player.chatId,
        press.messageId,
        report.toChat ? ALREADY_PREPARING_TEXT : PREPARING_ELSEWHERE_TEXT,
      )
      .catch((err: unknown) =>
        logger.debug({ err, updateId: ctx.update.update_id }, 'report press not edited'),
      );
  } catch (err) {
    if (!(err instanceof NoFarmError)) throw err; // 503: Telegram delivers the press again
    await ctx.api
      .editMessageText(player.chatId, press.messageId, NO_FARM_TEXT)
      .catch(() => replyText(ctx, NO_FARM_TEXT));
  }
});
