/** /help and the help button: how to play, and the player's support code verbatim. */
import { Composer, InlineKeyboard } from 'grammy';
import { encodeButton } from '../callback-data';
import type { BotContext } from '../context';
import { answerButton, show } from '../reply';
import { helpText } from '../render';

export const helpFeature = new Composer<BotContext>();
const privateChats = helpFeature.chatType('private');

const helpScreen = (ctx: BotContext) => ({
  text: helpText(ctx.services.game.userHashOf(ctx.from!.id)),
  keyboard: new InlineKeyboard().text('🌻 Back to the farm', encodeButton({ kind: 'farm' })),
});

privateChats.command('help', async (ctx) => {
  await show(ctx, helpScreen(ctx), 'send');
});

privateChats.filter(
  (ctx) => ctx.button?.kind === 'help',
  async (ctx) => {
    await answerButton(ctx);
    await show(ctx, helpScreen(ctx), 'edit');
  },
);
