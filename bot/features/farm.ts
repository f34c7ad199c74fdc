/** /start, /farm and the farm screen's navigation buttons. */
import { Composer } from 'grammy';
import type { ButtonPress } from '../callback-data';
import type { BotContext } from '../context';
import { answerButton, runIntent } from '../reply';
import { renderPlantMenu, renderScreen } from '../render';

export const farmFeature = new Composer<BotContext>();
const privateChats = farmFeature.chatType('private');

/** A type guard: the handler it filters for reads the button's fields without checking again. */
const pressed =
  <K extends ButtonPress['kind']>(kind: K) =>
  <C extends BotContext>(ctx: C): ctx is C & { button: Extract<ButtonPress, { kind: K }> } =>
    ctx.button?.kind === kind;

privateChats.command(['start', 'farm'], (ctx) => runIntent(ctx, { type: 'query' }, 'send'));

privateChats.filter(pressed('farm'), async (ctx) => {
  await answerButton(ctx);
  await runIntent(ctx, { type: 'query' }, 'edit');
});

privateChats.filter(pressed('choosePlot'), async (ctx) => {
  await answerButton(ctx);
  const { plotId } = ctx.button;
  await runIntent(ctx, { type: 'query' }, 'edit', (screen) =>
    screen.kind === 'farm' && screen.snapshot.farm.plots[plotId]?.crop === null
      ? renderPlantMenu(screen.snapshot, plotId)
      : renderScreen(screen),
  );
});
