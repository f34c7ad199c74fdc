/**
 * Last in line: whatever no feature took. Callback queries are always answered (Telegram shows a
 * spinner until they are); a private message gets a hint; groups get one polite pointer on
 * commands; everything else (channel posts, edits, inline queries, unknown kinds) gets silence.
 */
import { Composer } from 'grammy';
import type { BotContext } from '../context';
import { answerButton, replyText, runIntent } from '../reply';
import { STALE_BUTTON_TEXT } from '../render';

export const unhandledFeature = new Composer<BotContext>();

unhandledFeature.on('callback_query', async (ctx) => {
  if (ctx.chat?.type !== 'private') {
    await answerButton(ctx);
    return;
  }
  await answerButton(ctx, STALE_BUTTON_TEXT);
  if (ctx.callbackQuery.message) await runIntent(ctx, { type: 'query' }, 'edit');
});

unhandledFeature
  .chatType('private')
  .on('message', (ctx) =>
    replyText(ctx, '🌻 I understand the buttons below my messages, /farm and /help.'),
  );

unhandledFeature
  .chatType(['group', 'supergroup'])
  .on('message::bot_command', (ctx) =>
    replyText(ctx, '🌻 farmflow is played in a private chat with me.'),
  );
