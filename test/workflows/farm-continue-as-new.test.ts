/**
 * A farm forced to continue-as-new early (history bound 60 events) keeps everything: coins,
 * crops, inventory, XP, the daily bonus, pending crop timers, and its memory of grants and
 * actions already applied.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  farmWorkflowId,
  type FarmActionResult,
  getFarmQuery,
  grantRewardSignal,
  sellCropUpdate,
} from '../../workflows/contract';
import { NEUTRAL_WORLD } from '../../game';
import { newPlayer, nextUpdateId, sleepMs, startTestGame, type TestGame } from '../support/game';

describe('GameFarmWorkflow continue-as-new', () => {
  let g: TestGame;
  beforeAll(async () => {
    g = await startTestGame({ farmMaxHistoryEvents: 60 });
  });
  afterAll(() => g.close());

  it('carries the whole state into the next run', async () => {
    const player = newPlayer();
    const userHash = g.game.userHashOf(player.telegramUserId);
    const handle = g.eagerClient.workflow.getHandle(farmWorkflowId(userHash));
    const act = async (action: Parameters<typeof g.game.handleIntent>[1]) =>
      (await g.game.handleIntent(player, action, nextUpdateId())).screen;

    await act({ type: 'query' });
    const firstRunId = (await handle.describe()).runId;
    const grant = {
      grantId: 'welcome-pack',
      issuedAtMs: Date.now(),
      coins: 500,
      xp: 30,
      reason: 'welcome',
    };
    await handle.signal(grantRewardSignal, grant);
    await expect.poll(async () => (await handle.query(getFarmQuery)).farm.coins).toBe(550);

    // An action applied in the first run, whose id is replayed after continue-as-new.
    const sellId = `sell-${nextUpdateId()}`;
    await act({ type: 'message', action: { type: 'plant', plotId: 0, cropId: 'wheat' } });
    await sleepMs(200);
    await act({ type: 'message', action: { type: 'harvest', plotId: 0 } });
    const firstSell: FarmActionResult = await handle.executeUpdate(sellCropUpdate, {
      updateId: sellId,
      args: [
        {
          actionId: sellId,
          action: { type: 'sell', cropId: 'wheat', quantity: 1 },
          world: NEUTRAL_WORLD,
        },
      ],
    });
    await act({ type: 'message', action: { type: 'claimDailyBonus' } });
    await act({ type: 'message', action: { type: 'buyPlot' } });
    // Corn (level 3 after the grant's XP) takes 900 ms: its timer must survive the new run.
    await act({ type: 'message', action: { type: 'plant', plotId: 1, cropId: 'corn' } });

    // Cheap reads and writes until the history bound is passed.
    for (let i = 0; i < 30 && (await handle.describe()).runId === firstRunId; i++) {
      await act({ type: 'message', action: { type: 'plant', plotId: 2, cropId: 'wheat' } });
      await sleepMs(130);
      await act({ type: 'message', action: { type: 'harvest', plotId: 2 } });
    }
    const secondRunId = (await handle.describe()).runId;
    expect(secondRunId).not.toBe(firstRunId);
    const carried = await handle.query(getFarmQuery);

    const beforeCan = await g.eagerClient.workflow
      .getHandle(farmWorkflowId(userHash), firstRunId)
      .fetchHistory();
    const lastEvent = beforeCan.events?.at(-1);
    expect(lastEvent?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();

    expect(carried.farm.timeScale).toBe(0.001);
    expect(carried.farm.plots).toHaveLength(5);
    expect(carried.farm.lastDailyBonusAtMs).not.toBeNull();
    expect(carried.farm.xp).toBeGreaterThanOrEqual(30);

    // The same grant again: remembered across the run boundary, credited once.
    await handle.signal(grantRewardSignal, grant);
    // The same action id again: answered from memory, not sold twice.
    const again: FarmActionResult = await handle.executeUpdate(sellCropUpdate, {
      updateId: sellId,
      args: [
        {
          actionId: sellId,
          action: { type: 'sell', cropId: 'wheat', quantity: 1 },
          world: NEUTRAL_WORLD,
        },
      ],
    });
    expect(again.event).toEqual(firstSell.event);
    await sleepMs(200);
    const after = await handle.query(getFarmQuery);
    expect(after.farm.coins).toBe(carried.farm.coins);
    expect(after.farm.inventory).toEqual(carried.farm.inventory);

    // The corn planted in the first run ripens in the second.
    await expect
      .poll(async () => (await handle.query(getFarmQuery)).readyCrops.map((r) => r.plotId), {
        timeout: 5000,
      })
      .toContain(1);
  });
});
