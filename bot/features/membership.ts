/**
 * Telegram tells the bot when a player blocks it (kicked) or unblocks it (member). The farm owns
 * reachability, so it gets a signal: blocked, it skips notifications from then on; unblocked (or
 * on the player's next action), it sends them again. The registry's flag follows, as a copy.
 * A player who never had a farm has nothing to update.
 */
import { Composer } from 'grammy';
import type { BotContext } from '../context';

export const membershipFeature = new Composer<BotContext>();

membershipFeature.chatType('private').on('my_chat_member', async (ctx) => {
  const status = ctx.myChatMember.new_chat_member.status;
  const active = status === 'member';
  if (!active && status !== 'kicked') return;
  const { game, players, logger } = ctx.services;
  const userHash = game.userHashOf(ctx.myChatMember.from.id);
  const hasFarm = await game.setReachable(ctx.myChatMember.from.id, active);
  if (hasFarm) await players.setActive(userHash, active);
  logger.info(
    { userHash, active, hasFarm },
    active ? 'player unblocked the bot' : 'player blocked the bot',
  );
});
