/**
 * MarketTickWorkflow on the real dev server and Redis: a tick moves the market in world state,
 * reproducibly; a retried tick steps once; a farm sale pays the price its screen showed when that
 * screen is at most one tick old, and is refused with the new price otherwise.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MarketState, NEUTRAL_WORLD, neutralMarket, nextMarket, sellPrice } from '../../game';
import { createGameActivities } from '../../activities/game';
import { createWorldStore } from '../../store/world';
import { WORKFLOW_TYPES } from '../../workflows/contract';
import { sleepMs, startTestGame, TEST_SECRET, type TestGame } from '../support/game';
import { playerWithWheat, runMarketTick, sellOne, worldHash, worldStore } from '../support/world';

/** The markets a world goes through from neutral: markets[k] after k ticks. */
function trajectory(ticks: number): MarketState[] {
  const markets = [neutralMarket()];
  for (let k = 1; k <= ticks; k++) markets.push(nextMarket(markets.at(-1)));
  return markets;
}

const wheatPrice = (market: MarketState) => sellPrice('wheat', { ...NEUTRAL_WORLD, market });

describe('MarketTickWorkflow moves the market in world state', () => {
  let g: TestGame;
  beforeAll(async () => {
    g = await startTestGame();
  });
  afterAll(() => g.close());

  it('steps from the stored market, reproducibly from the seed, and returns what it published', async () => {
    expect(await worldStore(g).read()).toEqual(NEUTRAL_WORLD);
    const first = await runMarketTick(g);
    const second = await runMarketTick(g);
    // The first tick drew this world's seed; every later tick walks on from it.
    expect(first.seed).toEqual(expect.any(Number));
    expect(first).toEqual(nextMarket(null, first.seed));
    expect(second).toEqual(nextMarket(first));
    expect(second.seed).toBe(first.seed);
    expect(second.factors).not.toEqual(first.factors);
    expect((await worldStore(g).read()).market).toEqual(second);
    expect((await worldHash(g)).marketTick).toBe('2');
  });

  it('walks its own way in each world: the public code does not tell the prices to come', async () => {
    const firstTicks = await Promise.all(
      [1, 2, 3].map(async (n) => {
        const keyPrefix = `${g.keyPrefix}world-${n}-${randomUUID().slice(0, 8)}:`;
        const taskQueue = `${g.gameTaskQueue}-world-${n}`;
        const worker = await g.t.startWorker(
          createGameActivities({
            redis: g.redis,
            keyPrefix,
            userHashSecret: TEST_SECRET,
            client: g.t.client,
            gameTaskQueue: taskQueue,
          }),
          taskQueue,
        );
        try {
          return await g.t.client.workflow.execute<() => Promise<MarketState>>(
            WORKFLOW_TYPES.marketTick,
            { taskQueue, workflowId: `market-tick-world-${randomUUID()}`, args: [] },
          );
        } finally {
          await worker.stop();
        }
      }),
    );
    expect(new Set(firstTicks.map((market) => market.seed)).size).toBe(3);
    expect(new Set(firstTicks.map((market) => JSON.stringify(market.factors))).size).toBe(3);
  });

  it('steps once when its publish is retried after it wrote', async () => {
    const keyPrefix = `${g.keyPrefix}retry-${randomUUID().slice(0, 8)}:`;
    const taskQueue = `${g.gameTaskQueue}-retry`;
    const activities = createGameActivities({
      redis: g.redis,
      keyPrefix,
      userHashSecret: TEST_SECRET,
      client: g.t.client,
      gameTaskQueue: taskQueue,
    });
    const answers: boolean[] = [];
    const publishMarket = async (market: MarketState) => {
      const published = await activities.publishMarket(market);
      answers.push(published);
      // The write happened, but the worker "lost" the answer: Temporal retries the activity.
      if (answers.length === 1) throw new Error('connection reset after the write');
      return published;
    };
    const worker = await g.t.startWorker({ ...activities, publishMarket }, taskQueue);
    try {
      const result = await g.t.client.workflow.execute<() => Promise<MarketState>>(
        WORKFLOW_TYPES.marketTick,
        { taskQueue, workflowId: `market-tick-retry-${randomUUID()}`, args: [] },
      );
      expect(answers).toEqual([true, false]);
      expect(result).toEqual(nextMarket(null, result.seed));
      const stored = await createWorldStore(g.redis, keyPrefix).read();
      expect(stored.market).toEqual(result);
    } finally {
      await worker.stop();
    }
  });
});

describe('a farm sale pays the price its screen showed, at most one tick old', () => {
  let g: TestGame;
  beforeAll(async () => {
    g = await startTestGame();
  });
  afterAll(() => g.close());

  it('pays a one-tick-old quote and the new price, and refuses a quote two ticks old', async () => {
    // A point of the seeded walk where wheat's price moves on each of the next two ticks, so that
    // a quote two ticks old matches neither price a screen could show then.
    const markets = trajectory(300);
    const at = (k: number) => markets[k] as MarketState;
    const n = markets.findIndex(
      (m, k) =>
        k >= 1 &&
        k + 2 < markets.length &&
        wheatPrice(at(k + 1)) !== wheatPrice(m) &&
        wheatPrice(at(k + 2)) !== wheatPrice(m),
    );
    expect(n).toBeGreaterThan(0);
    // The world after n ticks; the next ticks run through the workflow.
    expect(await worldStore(g).publishMarket(at(n))).toBe(true);

    const { act } = await playerWithWheat(g, 2);
    const screen = await act({ type: 'query' });
    expect(screen.world.market).toEqual(at(n));
    const quoted = sellPrice('wheat', screen.world);
    expect(quoted).toBe(wheatPrice(at(n)));

    expect(await runMarketTick(g)).toEqual(at(n + 1));
    const paidOld = await sellOne(act, 'wheat', quoted);
    expect(paidOld).toMatchObject({
      kind: 'actionDone',
      event: { type: 'sold', unitPrice: quoted, coinsEarned: quoted },
    });

    const fresh = await act({ type: 'query' });
    const newPrice = sellPrice('wheat', fresh.world);
    expect(newPrice).toBe(wheatPrice(at(n + 1)));
    expect(newPrice).not.toBe(quoted);
    const paidNew = await sellOne(act, 'wheat', newPrice);
    expect(paidNew).toMatchObject({
      kind: 'actionDone',
      event: { type: 'sold', unitPrice: newPrice, coinsEarned: newPrice },
    });
    const coinsBefore = paidNew.snapshot.farm.coins;

    expect(await runMarketTick(g)).toEqual(at(n + 2));
    const now = wheatPrice(at(n + 2));
    const refused = await sellOne(act, 'wheat', quoted);
    expect(refused).toMatchObject({
      kind: 'actionRefused',
      reason: `Price changed: now ${now} 🪙 each.`,
    });
    expect(refused.snapshot.farm.coins).toBe(coinsBefore);
    expect(refused.snapshot.farm.inventory.wheat).toBe(paidNew.snapshot.farm.inventory.wheat);
  });
});

describe('a real Temporal schedule runs the market tick', () => {
  let g: TestGame;
  beforeAll(async () => {
    g = await startTestGame();
  });
  afterAll(() => g.close());

  it('triggering the schedule writes the next tick to world state', async () => {
    const scheduleId = `test-market-tick-${randomUUID()}`;
    const schedule = await g.t.client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '1h' }] },
      policies: { overlap: 'SKIP', catchupWindow: '1m' },
      // Paused: only the triggers run it during the test (a trigger runs a paused schedule).
      state: { paused: true },
      action: {
        type: 'startWorkflow',
        workflowType: WORKFLOW_TYPES.marketTick,
        args: [],
        taskQueue: g.gameTaskQueue,
        workflowExecutionTimeout: '1m',
      },
    });
    try {
      for (let tick = 1; tick <= 3; tick++) {
        // A schedule's workflow id has its time to the second: triggers a second apart.
        if (tick > 1) await sleepMs(1_000);
        await schedule.trigger();
        await expect
          .poll(async () => (await worldHash(g)).marketTick, { timeout: 10_000, interval: 10 })
          .toBe(String(tick));
      }
      const third = (await worldStore(g).read()).market!;
      expect(third).toEqual(nextMarket(nextMarket(nextMarket(null, third.seed))));
    } finally {
      await schedule.delete();
    }
  });
});
