/**
 * Runs one player intent through its per-message workflow and shows the result: edited in place
 * for button presses, a new message for commands, a "working…" state first when the workflow takes
 * longer than about a second. The reply to a redelivered update is sent only if the first delivery
 * never got its reply out, rebuilt from the first run's result.
 */
import { GrammyError, type InlineKeyboard } from 'grammy';
import type { Intent } from '../client';
import type { MainMenuScreen } from '../common/temporal';
import { keyspace } from '../store/redis';
import { type BotContext, playerOf } from './context';
import { needsRedelivery } from './failures';
import { type Rendered, screenReply, WORKING_TEXT } from './render';

const REPLY_MARK_TTL_SECONDS = 2 * 24 * 60 * 60; // longer than Telegram keeps redelivering

const replyMarkKey = (ctx: BotContext) =>
  keyspace(ctx.services.keyPrefix)('reply-sent', String(ctx.update.update_id));

/**
 * A reply that fails (blocked bot, deleted message, Telegram down) never fails the action. The
 * update's result (`final`) that Telegram failed to take (5xx, no answer) fails the update
 * instead: the webhook answers 503 and the redelivery sends it again.
 */
async function showSafely(
  ctx: BotContext,
  show: () => Promise<unknown>,
  final = false,
): Promise<boolean> {
  try {
    await show();
    return true;
  } catch (err) {
    if (err instanceof GrammyError && err.description.includes('message is not modified'))
      return true;
    if (final && needsRedelivery(err)) throw err;
    ctx.services.logger.warn(
      {
        err: err instanceof GrammyError ? err.description : String(err),
        updateId: ctx.update.update_id,
      },
      'reply not delivered',
    );
    return false;
  }
}

/**
 * Answers a button press (Telegram shows a spinner until then). Best effort: a redelivered
 * update's query was answered the first time, and Telegram refuses a second answer.
 */
export async function answerButton(ctx: BotContext, text?: string): Promise<void> {
  try {
    await ctx.answerCallbackQuery(text ? { text } : undefined);
  } catch (err) {
    ctx.services.logger.debug(
      { err: err instanceof GrammyError ? err.description : String(err) },
      'callback answer refused',
    );
  }
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
    true,
  );
}

export async function runIntent(
  ctx: BotContext,
  intent: Intent,
  mode: 'edit' | 'send',
  render: (screen: MainMenuScreen) => Rendered = screenReply,
): Promise<void> {
  const player = playerOf(ctx);
  if (!player) return;
  const { game, redis, workingAfterMs } = ctx.services;
  const pending = game.handleIntent(player, intent, `u${ctx.update.update_id}`);

  // Edit target for the result: the pressed message, or the "working…" message a command got.
  let workingMessage: { chatId: number; messageId: number } | undefined;
  const showWorking = async () => {
    if (mode === 'edit' && ctx.callbackQuery?.message) {
      const noKeyboard = { reply_markup: { inline_keyboard: [] } as unknown as InlineKeyboard };
      await showSafely(ctx, () => ctx.editMessageText(WORKING_TEXT, noKeyboard));
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

  if (result.duplicate && (await redis.exists(replyMarkKey(ctx)))) return;
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
        true,
      )
    : await show(ctx, rendered, mode);
  if (delivered) await redis.set(replyMarkKey(ctx), '1', { EX: REPLY_MARK_TTL_SECONDS });
}
