/**
 * GameFarmWorkflow on the real dev server: concurrency, refusals, durable timers, grants,
 * continue-as-new, redelivered updates, retried farm calls, and support's UserHash search.
 */
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  farmWorkflowId,
  type FarmSnapshot,
  getFarmQuery,
  grantRewardSignal,
  mainMenuWorkflowId,
  type MainMenuScreen,
} from '../../workflows/contract';
import { CROPS, type FarmAction, NEUTRAL_WORLD, sellPrice } from '../../game';
import type { Player } from '../../bot/game-client';
import type { MainMenuMessageWorkflow } from '../../workflows';
import { newPlayer, nextUpdateId, sleepMs, startTestGame, type TestGame } from '../support/game';

describe('GameFarmWorkflow', () => {
  let g: TestGame;
  beforeAll(async () => {
    g = await startTestGame();
  });
  afterAll(() => g.close());

  const act = (player: Player, action: FarmAction) =>
    g.game.handleIntent(player, { type: 'message', action }, nextUpdateId()).then((r) => r.screen);
  const show = (player: Player) =>
    g.game.handleIntent(player, { type: 'query' }, nextUpdateId()).then((r) => r.screen);
  const farmOf = (player: Player) =>
    g.eagerClient.workflow
      .getHandle(farmWorkflowId(g.game.userHashOf(player.telegramUserId)))
      .query(getFarmQuery);
  const grant = async (
    player: Player,
    grantId: string,
    coins: number,
    issuedAtMs = Date.now(),
    xp = 0,
  ) =>
    g.eagerClient.workflow
      .getHandle(farmWorkflowId(g.game.userHashOf(player.telegramUserId)))
      .signal(grantRewardSignal, { grantId, issuedAtMs, coins, xp, reason: 'test' });
  /** Grants XP (to unlock slower crops) and waits until the farm has applied it. */
  const levelUp = async (player: Player, xp: number, coins = 0) => {
    const before = (await farmOf(player)).farm.xp;
    await grant(player, `level-${xp}-${Date.now()}`, coins, Date.now(), xp);
    await expect.poll(async () => (await farmOf(player)).farm.xp).toBe(before + xp);
  };

  /** Grows `plots` wheat to ready and harvests it: 3 wheat per plot. */
  async function harvestWheat(player: Player, plots: number[]) {
    for (const plotId of plots) await act(player, { type: 'plant', plotId, cropId: 'wheat' });
    await sleepMs(CROPS.wheat.growSeconds * 1000 * 0.001 + 50);
    for (const plotId of plots)
      expect((await act(player, { type: 'harvest', plotId })).kind).toBe('actionDone');
  }

  it('20 concurrent sells of the same stock never oversell, and the coins add up', async () => {
    const player = newPlayer();
    await show(player);
    await harvestWheat(player, [0, 1, 2, 3]);
    const before = await farmOf(player);
    const stock = before.farm.inventory.wheat ?? 0;
    expect(stock).toBe(4 * CROPS.wheat.yield);

    const screens = await Promise.all(
      Array.from({ length: 20 }, () => act(player, { type: 'sell', cropId: 'wheat', quantity: 1 })),
    );
    const sold = screens.filter((s) => s.kind === 'actionDone').length;
    const refused = screens.filter((s) => s.kind === 'actionRefused');
    expect(sold).toBe(stock);
    expect(refused).toHaveLength(20 - stock);
    for (const r of refused) expect(r.kind === 'actionRefused' && r.reason).toMatch(/wheat/);

    const after = await farmOf(player);
    expect(after.farm.inventory.wheat ?? 0).toBe(0);
    expect(after.farm.coins).toBe(before.farm.coins + stock * sellPrice('wheat', NEUTRAL_WORLD));
  });

  it('refuses every invalid action with its reason and leaves the farm unchanged', async () => {
    const player = newPlayer();
    await show(player);
    // Level 5 and 80 coins: a pumpkin (1 h, 3.6 s at this scale) stays unripe for the whole test.
    await levelUp(player, 100, 30);
    expect((await act(player, { type: 'plant', plotId: 0, cropId: 'pumpkin' })).kind).toBe(
      'actionDone',
    );
    expect((await act(player, { type: 'claimDailyBonus' })).kind).toBe('actionDone');
    const before = await farmOf(player);

    const cases: [FarmAction, RegExp][] = [
      [{ type: 'plant', plotId: 0, cropId: 'wheat' }, /already growing/],
      [{ type: 'plant', plotId: 1, cropId: 'strawberry' }, /unlocks at level/],
      [{ type: 'plant', plotId: 99, cropId: 'wheat' }, /No such plot/],
      [{ type: 'harvest', plotId: 0 }, /not ready/],
      [{ type: 'harvest', plotId: 1 }, /Nothing to harvest/],
      [{ type: 'sell', cropId: 'corn', quantity: 1 }, /no corn/i],
      [{ type: 'buyPlot' }, /Not enough coins/],
      [{ type: 'claimDailyBonus' }, /already claimed/],
      [{ type: 'sell', cropId: 'wheat', quantity: -3 }, /quantity|whole number/i],
      [{ type: 'teleport' } as unknown as FarmAction, /not recognised/],
    ];
    for (const [action, reason] of cases) {
      const screen = await act(player, action);
      expect(screen.kind, JSON.stringify(action)).toBe('actionRefused');
      expect(screen.kind === 'actionRefused' && screen.reason).toMatch(reason);
    }
    const after = await farmOf(player);
    expect(after.farm).toEqual(before.farm);
  });

  it('keeps crop timers durable: a crop ripens while no worker runs, and nothing is lost', async () => {
    const player = newPlayer();
    await show(player);
    // Level 5: pumpkin, 60 min = 3.6 s at this scale, ample time to stop a worker on a busy
    // machine before the crop's timer fires.
    await levelUp(player, 100, 100);
    const planted = await act(player, { type: 'plant', plotId: 2, cropId: 'pumpkin' });
    if (planted.kind !== 'actionDone' || planted.event.type !== 'planted')
      throw new Error(JSON.stringify(planted));
    const readyAtMs = planted.event.readyAtMs;

    await g.gameWorker.stop();
    expect(Date.now()).toBeLessThan(readyAtMs); // the timer fires while no game worker runs
    await sleepMs(readyAtMs - Date.now() + 300);
    g.gameWorker = await g.startGameWorker();

    await expect
      .poll(async () => (await farmOf(player)).readyCrops.map((r) => r.plotId), { timeout: 10_000 })
      .toEqual([2]);
    const harvested = await act(player, { type: 'harvest', plotId: 2 });
    expect(harvested).toMatchObject({
      kind: 'actionDone',
      event: { type: 'harvested', cropId: 'pumpkin' },
    });
    expect((await farmOf(player)).readyCrops).toEqual([]);
  });

  it('credits the same grant once, and refuses grants older than the window', async () => {
    const player = newPlayer();
    await show(player);
    const before = (await farmOf(player)).farm.coins;
    await grant(player, 'event-2026-11-27', 100);
    await grant(player, 'event-2026-11-27', 100);
    await grant(player, 'ancient', 1000, Date.now() - 31 * 24 * 60 * 60 * 1000);
    await expect.poll(async () => (await farmOf(player)).farm.coins).toBe(before + 100);
    await sleepMs(200);
    expect((await farmOf(player)).farm.coins).toBe(before + 100);
  });

  it('finds the farm and every per-message workflow of a player by UserHash', async () => {
    const player = newPlayer();
    const userHash = g.game.userHashOf(player.telegramUserId);
    const first = await g.game.handleIntent(player, { type: 'query' }, 'find-1');
    await g.game.handleIntent(
      player,
      { type: 'message', action: { type: 'claimDailyBonus' } },
      'find-2',
    );
    expect(first.userHash).toBe(userHash);

    const expected = [
      farmWorkflowId(userHash),
      `main-menu-${userHash}-find-1`,
      `main-menu-${userHash}-find-2`,
    ].sort();
    await expect
      .poll(
        async () => {
          const ids: string[] = [];
          for await (const wf of g.eagerClient.workflow.list({ query: `UserHash = "${userHash}"` }))
            ids.push(wf.workflowId);
          return ids.sort();
        },
        { timeout: 10_000 },
      )
      .toEqual(expected);
  });

  it('processes a redelivered update once and answers it from the first run', async () => {
    const player = newPlayer();
    await show(player);
    const first = await g.game.handleIntent(
      player,
      { type: 'message', action: { type: 'claimDailyBonus' } },
      'update-42',
    );
    const again = await g.game.handleIntent(
      player,
      { type: 'message', action: { type: 'claimDailyBonus' } },
      'update-42',
    );
    expect(first.duplicate).toBe(false);
    expect(again.duplicate).toBe(true);
    expect(again.screen).toEqual(first.screen);
    expect(first.screen.kind).toBe('actionDone');
    const bonus = first.screen.kind === 'actionDone' ? first.screen.event : undefined;
    const coins = (await farmOf(player)).farm.coins;
    expect(coins).toBe(
      (first.screen as Extract<MainMenuScreen, { kind: 'actionDone' }>).snapshot.farm.coins,
    );
    expect(bonus?.type).toBe('dailyBonusClaimed');
  });
});

describe('a farm call retried after the farm applied it', () => {
  let g: TestGame;
  let failures = 0;
  beforeAll(async () => {
    g = await startTestGame({
      // Fail the local activity right after its update reached the farm, once per action.
      wrapMainMenuActivities: (activities) => ({
        ...activities,
        async applyFarmAction(input) {
          const result = await activities.applyFarmAction(input);
          if (input.action.type === 'sell' && failures === 0) {
            failures += 1;
            throw ApplicationFailure.retryable('injected fault after the farm update');
          }
          return result;
        },
      }),
    });
  });
  afterAll(() => g.close());

  it('applies the action once', async () => {
    const player = newPlayer();
    await g.game.handleIntent(player, { type: 'query' }, nextUpdateId());
    await g.game.handleIntent(
      player,
      { type: 'message', action: { type: 'plant', plotId: 0, cropId: 'wheat' } },
      nextUpdateId(),
    );
    await sleepMs(200);
    await g.game.handleIntent(
      player,
      { type: 'message', action: { type: 'harvest', plotId: 0 } },
      nextUpdateId(),
    );
    const userHash = g.game.userHashOf(player.telegramUserId);
    const handle = g.eagerClient.workflow.getHandle(farmWorkflowId(userHash));
    const before: FarmSnapshot = await handle.query(getFarmQuery);

    const updateId = nextUpdateId();
    const sold = await g.game.handleIntent(
      player,
      { type: 'message', action: { type: 'sell', cropId: 'wheat', quantity: 1 } },
      updateId,
    );
    expect(sold.screen).toMatchObject({ kind: 'actionDone', event: { type: 'sold', quantity: 1 } });
    // The workflow retried the failed activity and completed with the same answer.
    const completed = await g.eagerClient.workflow
      .getHandle<typeof MainMenuMessageWorkflow>(mainMenuWorkflowId(userHash, updateId))
      .result();
    expect(failures).toBe(1);
    expect(completed.kind === 'actionDone' && completed.event).toEqual(
      sold.screen.kind === 'actionDone' && sold.screen.event,
    );
    const after: FarmSnapshot = await handle.query(getFarmQuery);
    expect(after.farm.inventory.wheat).toBe((before.farm.inventory.wheat ?? 0) - 1);
    expect(after.farm.coins).toBe(before.farm.coins + sellPrice('wheat', NEUTRAL_WORLD));
  });
});
