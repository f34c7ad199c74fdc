/**
 * Every farm screen shows the present. A read is a query, and a query-only activation does not
 * advance the workflow clock (sdk-typescript #796): with `Date.now()` as the snapshot's time, the
 * screen showed the moment of the farm's last action. Reads here go the way `/farm` and Refresh go
 * (the game client's `query` intent, i.e. MainMenuQueryWorkflow → getFarm), with nothing in between
 * that could wake the farm.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  farmWorkflowId,
  type MainMenuScreen,
  USER_HASH_SEARCH_ATTRIBUTE,
  WORKFLOW_TYPES,
} from '../../workflows/contract';
import type { Player } from '../../bot/game-client';
import { renderScreen } from '../../bot/render';
import { DAILY_BONUS_PERIOD_SECONDS, scaledMs } from '../../game';
import { encryptChatId } from '../../infra/identity';
import type { GameFarmWorkflow } from '../../workflows';
import {
  newPlayer,
  nextUpdateId,
  sleepMs,
  startTestGame,
  TEST_SECRET,
  type TestGame,
} from '../support/game';

/** The daily bonus period at this scale is about 1.7 s. */
const BONUS_SCALE = 0.00002;
/** Wheat (2 min at scale 1) grows for 12 s: long enough to read it twice while it grows. */
const CROP_SCALE = 0.1;

describe('the farm screen shows the present', () => {
  let g: TestGame;
  beforeAll(async () => {
    g = await startTestGame();
  });
  afterAll(() => g.close());

  /** Creates the player's farm at its own time scale, as the first `query` would. */
  const createFarm = async (player: Player, timeScale: number) => {
    const userHash = g.game.userHashOf(player.telegramUserId);
    await g.eagerClient.workflow.start<typeof GameFarmWorkflow>(WORKFLOW_TYPES.gameFarm, {
      workflowId: farmWorkflowId(userHash),
      taskQueue: g.gameTaskQueue,
      args: [{ userHash, sealedChatId: encryptChatId(player.chatId, TEST_SECRET), timeScale }],
      typedSearchAttributes: [{ key: USER_HASH_SEARCH_ATTRIBUTE, value: userHash }],
    });
  };
  const show = async (player: Player): Promise<Extract<MainMenuScreen, { kind: 'farm' }>> => {
    const { screen } = await g.game.handleIntent(player, { type: 'query' }, nextUpdateId());
    if (screen.kind !== 'farm') throw new Error(`expected the farm, got ${screen.kind}`);
    return screen;
  };
  const buttons = (screen: MainMenuScreen) =>
    renderScreen(screen)
      .keyboard.inline_keyboard.flat()
      .map((b) => b.text);

  it('after claiming the daily bonus and waiting out its period, a Refresh offers it again', async () => {
    const player = newPlayer();
    await createFarm(player, BONUS_SCALE);
    const claimed = await g.game.handleIntent(
      player,
      { type: 'message', action: { type: 'claimDailyBonus' } },
      nextUpdateId(),
    );
    expect(claimed.screen.kind).toBe('actionDone');
    const right = await show(player);
    expect(buttons(right).some((b) => b.startsWith('🎁 Bonus'))).toBe(false);
    expect(renderScreen(right).text).toContain('Next daily bonus in');

    // No action, signal or timer reaches the farm meanwhile.
    await sleepMs(scaledMs(DAILY_BONUS_PERIOD_SECONDS, BONUS_SCALE) + 1000);
    const later = await show(player);
    expect(later.snapshot.asOfMs - right.snapshot.asOfMs).toBeGreaterThanOrEqual(1000);
    expect(buttons(later).some((b) => b.startsWith('🎁 Bonus'))).toBe(true);
    expect(renderScreen(later).text).not.toContain('Next daily bonus in');
  });

  it("a growing crop's countdown goes down between two Refreshes with nothing in between", async () => {
    const player = newPlayer();
    await createFarm(player, CROP_SCALE);
    const planted = await g.game.handleIntent(
      player,
      { type: 'message', action: { type: 'plant', plotId: 0, cropId: 'wheat' } },
      nextUpdateId(),
    );
    expect(planted.screen.kind).toBe('actionDone');

    const first = await show(player);
    await sleepMs(2500);
    const second = await show(player);
    const readyAtMs = second.snapshot.farm.plots[0]?.crop?.readyAtMs ?? 0;
    expect(second.snapshot.asOfMs - first.snapshot.asOfMs).toBeGreaterThanOrEqual(2000);
    expect(readyAtMs - second.snapshot.asOfMs).toBeLessThan(readyAtMs - first.snapshot.asOfMs);
    // The screen's clock is not behind the caller's (generous margin for clock granularity).
    expect(second.snapshot.asOfMs).toBeGreaterThan(Date.now() - 2000);
    expect(renderScreen(second).text).not.toBe(renderScreen(first).text);
  });
});
