/**
 * Runs one player intent through its per-message workflow and shows the result: edited in place
 * for button presses, a new message for commands, a "working…" state first when the workflow takes
 * longer than about a second. The reply to a redelivered update is sent only if the first delivery
 * never got its reply out, rebuilt from the first run's result.
 */
import { GrammyError } from 'grammy';
import type { Intent } from './game-client';
import type { MainMenuScreen } from '../workflows/contract';
import { keyspace } from '../store/redis';
import { type BotContext, playerOf } from './context';
import { needsRedelivery } from './failures';
import { metrics, updateKind } from '../infra/metrics';
import { currentDeadline } from './update-deadline';
import { type Rendered, renderScreen, WORKING_TEXT } from './render';

/** Telegram stops redelivering an update 24 hours after it arrived; the mark is not needed after. */
const REPLY_MARK_TTL_SECONDS = 24 * 60 * 60;

const replyMarkKey = (ctx: BotContext) =>
  keyspace(ctx.services.keyPrefix)('reply-sent', String(ctx.update.update_id));

interface ShowOptions {
  level?: 'warn' | 'debug';
  what?: string;
  /** The update's result: a failure Telegram may not have taken fails the update (503). */
  final?: boolean;
}

/**
 * Every Bot API call of a reply goes through here. A reply that fails (blocked bot, deleted
 * message, Telegram down) never fails the action; its error is logged as the error object, so that the
 * logger's serializer and secret scrubber see it whole (a network error's message carries the
 * request URL, and so the bot token). The update's result (`final`) that Telegram failed to take
 * (5xx, no answer) fails the update instead: the webhook answers 503 and the redelivery sends it
 * again.
 */
async function showSafely(
  ctx: BotContext,
  show: () => Promise<unknown>,
  { level = 'warn', what = 'reply not delivered', final = false }: ShowOptions = {},
): Promise<boolean> {
  try {
    await show();
    return true;
  } catch (err) {
    if (err instanceof GrammyError && err.description.includes('message is not modified'))
      return true;
    if (final && needsRedelivery(err)) throw err;
    ctx.services.logger[level]({ err, updateId: ctx.update.update_id }, what);
    return false;
  }
}

/** Button presses answered (or tried): Telegram refuses a second answer to the same query. */
const answered = new WeakSet<BotContext>();

export const buttonAnswered = (ctx: BotContext) => answered.has(ctx);

/**
 * Answers a button press (Telegram shows a spinner until then). Best effort: a redelivered
 * update's query was answered the first time, and Telegram refuses a second answer.
 */
export async function answerButton(ctx: BotContext, text?: string): Promise<void> {
  answered.add(ctx);
  await showSafely(ctx, () => ctx.answerCallbackQuery(text ? { text } : undefined), {
    level: 'debug',
    what: 'callback answer refused',
  });
}

/** A plain text reply (a hint, a warning), through the same safe path as every reply. */
export async function replyText(ctx: BotContext, text: string): Promise<boolean> {
  return showSafely(ctx, () => ctx.reply(text));
}

export async function show(
  ctx: BotContext,
  rendered: Rendered,
  mode: 'edit' | 'send',
): Promise<boolean> {
  const options = { parse_mode: 'HTML' as const, reply_markup: rendered.keyboard };
  return showSafely(
    ctx,
    () =>
      mode === 'edit' && ctx.callbackQuery?.message
        ? ctx.editMessageText(rendered.text, options)
        : ctx.reply(rendered.text, options),
    { final: true },
  );
}

export async function runIntent(
  ctx: BotContext,
  intent: Intent,
  mode: 'edit' | 'send',
  render: (screen: MainMenuScreen) => Rendered = renderScreen,
): Promise<void> {
  const player = playerOf(ctx);
  if (!player) return;
  const { game, redis, workingAfterMs } = ctx.services;
  const pending = game.handleIntent(player, intent, `u${ctx.update.update_id}`);

  const replied = async () => (await redis.exists(replyMarkKey(ctx))) === 1;
  // Edit target for the result: the pressed message, or the "working…" message a command got.
  let workingMessage: { chatId: number; messageId: number } | undefined;
  let workingOnPressed = false;
  const showWorking = async () => {
    // A redelivery of an update whose reply went out (its first delivery was answered 503 after
    // replying, or its 200 was lost) shows nothing new: the reply stands.
    if (await replied().catch(() => false)) return;
    if (mode === 'edit' && ctx.callbackQuery?.message) {
      const noKeyboard = { reply_markup: { inline_keyboard: [] } };
      workingOnPressed = await showSafely(ctx, () => ctx.editMessageText(WORKING_TEXT, noKeyboard));
      // The reply is no longer what the message shows: a later delivery must show it again.
      if (workingOnPressed) await redis.del(replyMarkKey(ctx)).catch(() => undefined);
    } else {
      await showSafely(ctx, async () => {
        const sent = await ctx.reply(WORKING_TEXT);
        workingMessage = { chatId: sent.chat.id, messageId: sent.message_id };
      });
    }
  };
  let workingShown: Promise<void> | undefined;
  const timer = setTimeout(() => {
    workingShown = showWorking();
  }, workingAfterMs);
  let result;
  try {
    result = await pending;
  } catch (err) {
    clearTimeout(timer);
    if (workingShown) await workingShown;
    // The update will be delivered again; its reply must not leave a stray "working…" behind.
    if (workingMessage) {
      const { chatId, messageId } = workingMessage;
      await showSafely(ctx, () => ctx.api.deleteMessage(chatId, messageId));
    }
    throw err;
  }
  clearTimeout(timer);
  if (workingShown) await workingShown;

  if (result.duplicate && (await replied().catch(() => false))) {
    // The first delivery's reply went out: this one shows nothing new. A "working…" it showed all
    // the same (the mark came after its check) must not stay: a command's is deleted (or, if that
    // fails, becomes the reply below), a pressed message shows the reply again below.
    if (!workingOnPressed && !workingMessage) return;
    if (workingMessage) {
      const { chatId, messageId } = workingMessage;
      if (await showSafely(ctx, () => ctx.api.deleteMessage(chatId, messageId))) return;
    }
  }
  const rendered = render(result.screen);
  const delivered = workingMessage
    ? await showSafely(
        ctx,
        () =>
          ctx.api.editMessageText(
            workingMessage!.chatId,
            workingMessage!.messageId,
            rendered.text,
            {
              parse_mode: 'HTML',
              reply_markup: rendered.keyboard,
            },
          ),
        { final: true },
      )
    : await show(ctx, rendered, mode);
  if (!delivered) return;
  const receivedAt = currentDeadline()?.receivedAt;
  if (receivedAt !== undefined) {
    metrics.replyLatency.observe(
      { kind: updateKind(ctx.update) },
      (Date.now() - receivedAt) / 1000,
    );
  }
  // The reply went out: failing the update now would make its redelivery reply twice.
  await redis.set(replyMarkKey(ctx), '1', { EX: REPLY_MARK_TTL_SECONDS }).catch((err: unknown) => {
    ctx.services.logger.warn(
      { err, updateId: ctx.update.update_id },
      'reply sent, but its mark was not written',
    );
  });
}
