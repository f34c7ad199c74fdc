/** The leaderboard button; the board itself comes with the scheduled rewards. */
import { Composer } from 'grammy';
import { answerButton } from '../reply';
import type { BotContext } from '../context';

export const leaderboardFeature = new Composer<BotContext>();

leaderboardFeature.filter(
  (ctx) => ctx.button?.kind === 'leaderboard',
  (ctx) => answerButton(ctx, '🏆 The leaderboard opens soon. Keep farming!'),
);
