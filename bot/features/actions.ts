/**
 * Buttons that change the farm: plant, harvest, sell, buy a plot, claim the daily bonus, and
 * notifications on or off. (The name on the leaderboard is set from the 🏆 screen, which shows
 * itself again after it: ./leaderboard.ts.)
 */
import { Composer } from 'grammy';
import type { FarmAction } from '../../game';
import type { ButtonPress } from '../callback-data';
import type { BotContext } from '../context';
import { answerButton, runIntent } from '../reply';

function actionOf(press: ButtonPress | null): FarmAction | null {
  switch (press?.kind) {
    case 'plant':
      return { type: 'plant', plotId: press.plotId, cropId: press.cropId };
    case 'harvest':
      return { type: 'harvest', plotId: press.plotId };
    case 'sell':
      // The price the pressed screen showed: the farm pays it, or refuses with the new one.
      return {
        type: 'sell',
        cropId: press.cropId,
        quantity: press.quantity,
        unitPrice: press.unitPrice,
      };
    case 'buyPlot':
      return { type: 'buyPlot' };
    case 'dailyBonus':
      return { type: 'claimDailyBonus' };
    case 'notifications':
      return { type: 'setPreferences', notifications: press.on };
    default:
      return null;
  }
}

export const actionsFeature = new Composer<BotContext>();

actionsFeature.chatType('private').use(async (ctx, next) => {
  const action = actionOf(ctx.button);
  if (!action) return next();
  await answerButton(ctx);
  await runIntent(ctx, { type: 'message', action }, 'edit');
});
