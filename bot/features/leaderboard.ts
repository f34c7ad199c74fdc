/**
 * The 🏆 screen, read from Redis in the bot process (no workflow: the farms keep Redis's board
 * current on their own), and the button that hides or shows the player's name on it. A press of
 * that button changes the farm (its setPreferences action) and shows the board again, with the
 * player's own name as the farm now has it.
 */
import { Composer } from 'grammy';
import type { ButtonPress } from '../callback-data';
import { type BotContext, playerOf } from '../context';
import { answerButton, runIntent, show } from '../reply';
import {
  LEADERBOARD_SIZE,
  ownNameOf,
  renderLeaderboard,
  renderLeaderboardUnavailable,
  renderScreen,
} from '../render';
import { createLeaderboard, type LeaderboardView } from '../../store/leaderboard';

export const leaderboardFeature = new Composer<BotContext>();
const privateChats = leaderboardFeature.chatType('private');

const pressed =
  <K extends ButtonPress['kind']>(kind: K) =>
  <C extends BotContext>(ctx: C): ctx is C & { button: Extract<ButtonPress, { kind: K }> } =>
    ctx.button?.kind === kind;

/** The board as this player sees it; null when Redis failed (bounded by its command timeout). */
async function readBoard(ctx: BotContext, telegramUserId: number): Promise<LeaderboardView | null> {
  const { game, redis, keyPrefix, logger } = ctx.services;
  try {
    return await createLeaderboard(redis, keyPrefix).view(
      game.userHashOf(telegramUserId),
      LEADERBOARD_SIZE,
    );
  } catch (err) {
    logger.warn({ err, updateId: ctx.update.update_id }, 'leaderboard not read');
    return null;
  }
}

privateChats.filter(pressed('leaderboard'), async (ctx) => {
  await answerButton(ctx);
  const player = playerOf(ctx);
  if (!player) return;
  const board = await readBoard(ctx, player.telegramUserId);
  await show(ctx, board ? renderLeaderboard(board) : renderLeaderboardUnavailable(), 'edit');
});

privateChats.filter(pressed('showName'), async (ctx) => {
  await answerButton(ctx);
  const player = playerOf(ctx);
  if (!player) return;
  // Read first: Redis hears of the change only after the farm's own publish, so the player's
  // line is drawn from the farm's answer. Without a board the farm screen says what changed.
  const board = await readBoard(ctx, player.telegramUserId);
  await runIntent(
    ctx,
    { type: 'message', action: { type: 'setPreferences', showName: ctx.button.on } },
    'edit',
    (screen) =>
      board ? renderLeaderboard(board, ownNameOf(screen.snapshot)) : renderScreen(screen),
  );
});
