/**
 * Redis loss: world state is rebuilt from Temporal (the last tick's result and the running events'
 * memos), by the first message that reads it or by the next market tick, even with every game
 * worker down; the rebuilt event still ends on time, removed by its own run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRestoringWorldStore } from '../../activities/world';
import { type MarketState, nextMarket } from '../../game';
import { newPlayer, nextUpdateId, startTestGame, type TestGame } from '../support/game';
import {
  eventInput,
  loseWorld,
  runMarketTick,
  startCalendarEvent,
  worldHash,
  worldStore,
} from '../support/world';

describe('world state after a Redis loss', () => {
  let g: TestGame;
  beforeAll(async () => {
    g = await startTestGame();
  });
  afterAll(() => g.close());

  const readByMessage = async () =>
    (await g.game.handleIntent(newPlayer(), { type: 'query' }, nextUpdateId())).screen.world;

  it('rebuilds the market and the running event from Temporal', async () => {
    await runMarketTick(g);
    const second = await runMarketTick(g);
    const handle = await startCalendarEvent(
      g,
      eventInput({ eventId: 'lost-fair', durationMs: 20_000 }),
    );
    await expect.poll(async () => (await worldStore(g).read()).events?.length).toBe(1);
    const [event] = (await worldStore(g).read()).events!;

    // Lost while every game worker is down: the rebuild reads Temporal only, not the workers.
    await g.gameWorker.stop();
    await loseWorld(g);
    expect(await worldHash(g)).toEqual({});
    const restoring = createRestoringWorldStore({
      redis: g.redis,
      keyPrefix: g.keyPrefix,
      client: g.t.client,
      gameTaskQueue: g.gameTaskQueue,
    });
    const whileDown = await restoring.read();
    expect(whileDown.market).toEqual(second);
    expect(whileDown.events).toEqual([event]);
    expect(await worldHash(g)).toMatchObject({
      marketTick: '2',
      'event:lost-fair': expect.stringContaining(handle.firstExecutionRunId) as string,
      restoredAtMs: expect.stringMatching(/^\d+$/) as string,
    });
    g.gameWorker = await g.startGameWorker();

    // Lost again: the first message's read rebuilds it.
    await loseWorld(g);
    const rebuilt = await readByMessage();
    expect(rebuilt.market).toEqual(second);
    expect(rebuilt.events).toEqual([event]);

    // The rebuilt entry is still the run's own: ending the event removes it.
    await handle.cancel();
    await expect.poll(async () => (await worldHash(g))['event:lost-fair']).toBeUndefined();
    expect((await worldStore(g).read()).market).toEqual(second);
  });

  it('lets the next tick step from the rebuilt market, not from a neutral one', async () => {
    const before = (await worldStore(g).read()).market as MarketState;
    await loseWorld(g);
    // No message read it first: the tick's own read rebuilds it.
    const next = await runMarketTick(g);
    expect(next).toEqual(nextMarket(before));
    expect((await worldStore(g).read()).market).toEqual(next);
  });

  it('rebuilds once: many messages reading a lost world at once all get an answer', async () => {
    const market = (await worldStore(g).read()).market;
    await loseWorld(g);
    const worlds = await Promise.all(Array.from({ length: 8 }, () => readByMessage()));
    // Each read either waited for the one rebuild or answered at once with what Redis held.
    for (const world of worlds) expect([market?.tick, undefined]).toContain(world.market?.tick);
    expect(worlds.some((world) => world.market?.tick === market?.tick)).toBe(true);
    expect((await worldStore(g).read()).market).toEqual(market);
  });
});
