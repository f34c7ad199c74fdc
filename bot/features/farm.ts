/** /start, /farm and the farm screen's navigation buttons. */
import { Composer } from 'grammy';
import type { BotContext } from '../context';
import { answerButton, runIntent } from '../reply';
import { renderPlantMenu, renderScreen } from '../render';

export const farmFeature = new Composer<BotContext>();
const privateChats = farmFeature.chatType('private');

privateChats.command(['start', 'farm'], (ctx) => runIntent(ctx, { type: 'query' }, 'send'));

privateChats.filter(
  (ctx) => ctx.button?.kind === 'farm',
  async (ctx) => {
    await answerButton(ctx);
    await runIntent(ctx, { type: 'query' }, 'edit');
  },
);

privateChats.filter(
  (ctx) => ctx.button?.kind === 'choosePlot',
  async (ctx) => {
    await answerButton(ctx);
    const plotId = ctx.button?.kind === 'choosePlot' ? ctx.button.plotId : 0;
    await runIntent(ctx, { type: 'query' }, 'edit', (screen) =>
      screen.kind === 'farm' && screen.snapshot.farm.plots[plotId]?.crop === null
        ? renderPlantMenu(screen.snapshot, plotId)
        : renderScreen(screen),
    );
  },
);
