/**
 * A player who blocks the bot is marked inactive in the player registry (batches and
 * notifications skip them), and active again when they unblock it.
 */
import { Composer } from 'grammy';
import type { BotContext } from '../context';

export const membershipFeature = new Composer<BotContext>();

membershipFeature.chatType('private').on('my_chat_member', async (ctx) => {
  const status = ctx.myChatMember.new_chat_member.status;
  const active = status === 'member';
  if (!active && status !== 'kicked') return;
  const userHash = ctx.services.game.userHashOf(ctx.myChatMember.from.id);
  await ctx.services.players.setActive(userHash, active);
  ctx.services.logger.info(
    { userHash, active },
    active ? 'player unblocked the bot' : 'player blocked the bot',
  );
});
