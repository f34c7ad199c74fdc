/**
 * What a player sees when their update failed with a bug (an outage is answered 503 instead, and
 * Telegram delivers the update again): the farm again with its buttons, under a line saying that
 * something went wrong, so that the next press works. A press that failed after its message was
 * edited to "working…" (which takes the buttons away) gets them back the same way. When the farm
 * cannot be read either, the apology comes with a button that reloads the farm.
 */
import { randomUUID } from 'node:crypto';
import { InlineKeyboard } from 'grammy';
import { encodeButton } from './callback-data';
import type { Player } from './game-client';
import { type BotContext, playerOf } from './context';
import { type Rendered, renderFarm, renderScreen } from './render';
import { answerButton, buttonAnswered, show } from './reply';

export const APOLOGY_TEXT = '😵 Something went wrong. Please try again.';

/** The farm read for the apology gives up after this; the apology then comes without the farm. */
const FARM_READ_TIMEOUT_MS = 5_000;

export async function apologise(ctx: BotContext): Promise<void> {
  // A feature answers a press before its work; Telegram would refuse a second answer.
  if (ctx.callbackQuery && !buttonAnswered(ctx)) await answerButton(ctx, APOLOGY_TEXT);
  const player = playerOf(ctx);
  if (!player) return;
  const rendered = await farmWithApology(ctx, player);
  const mode = ctx.callbackQuery?.message ? 'edit' : 'send';
  // The pressed message may be gone (deleted by the player): then the apology comes as a new one.
  if (!(await show(ctx, rendered, mode)) && mode === 'edit') await show(ctx, rendered, 'send');
}

async function farmWithApology(ctx: BotContext, player: Player): Promise<Rendered> {
  const { game, logger } = ctx.services;
  // A read of its own (the failed update's workflow id is taken), reading the farm as it is now.
  const read = game.handleIntent(
    player,
    { type: 'query' },
    `u${ctx.update.update_id}-apology-${randomUUID().slice(0, 8)}`,
  );
  // Past the timeout nobody waits for it; its failure is then no news.
  read.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`farm not read within ${FARM_READ_TIMEOUT_MS} ms`)),
      FARM_READ_TIMEOUT_MS,
    );
  });
  try {
    const { screen } = await Promise.race([read, timeout]);
    return screen.kind === 'farm'
      ? renderFarm(screen.snapshot, screen.world, APOLOGY_TEXT)
      : renderScreen(screen);
  } catch (err) {
    logger.warn({ err, updateId: ctx.update.update_id }, 'apology without the farm: not read');
    return {
      text: APOLOGY_TEXT,
      keyboard: new InlineKeyboard().text('🔄 Refresh', encodeButton({ kind: 'farm' })),
    };
  } finally {
    clearTimeout(timer);
  }
}
