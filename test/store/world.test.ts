/**
 * The world store against the real Redis: idempotent, race-safe writes, neutral reads of anything
 * malformed or over, and the guarded rebuild when Redis lost the world. (The rebuild's source,
 * Temporal, is covered end to end in test/workflows/world-restore.test.ts.)
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { type ActiveEvent, NEUTRAL_WORLD, nextMarket, sellPrice } from '../../game';
import { createLogger } from '../../infra/logging';
import { connectRedis, type RedisClient } from '../../store/redis';
import { createWorldStore, type RestoredWorld } from '../../store/world';
import { REDIS_URL } from '../support/constants';
import { captureLogs } from '../support/logs';

let redis: RedisClient;
const prefix = () => `${inject('redisKeyPrefix')}world-${randomUUID().slice(0, 8)}:`;

beforeAll(async () => {
  redis = await connectRedis(REDIS_URL, createLogger('warn'));
});
afterAll(() => redis.close());

function fair(overrides: Partial<ActiveEvent> = {}): ActiveEvent {
  const now = Date.now();
  return {
    id: 'harvest-fair',
    name: 'Friday harvest fair',
    effect: { saleMultiplier: 2 },
    startedAtMs: now,
    endsAtMs: now + 60_000,
    ...overrides,
  };
}

describe('world store: the market', () => {
  it('reads a world nothing wrote as neutral', async () => {
    const world = await createWorldStore(redis, prefix()).read();
    expect(world).toEqual(NEUTRAL_WORLD);
    expect(sellPrice('wheat', world)).toBe(sellPrice('wheat', NEUTRAL_WORLD));
  });

  it('publishes a tick only if it is newer than the stored one', async () => {
    const store = createWorldStore(redis, prefix());
    const first = nextMarket(null);
    const second = nextMarket(first);
    expect(await store.publishMarket(first)).toBe(true);
    expect(await store.publishMarket(second)).toBe(true);
    // A retried or duplicated tick, and a late one, change nothing.
    expect(await store.publishMarket(second)).toBe(false);
    expect(await store.publishMarket(first)).toBe(false);
    expect((await store.read()).market).toEqual(second);
  });

  it('keeps the newest of many ticks published at once, in any order', async () => {
    const store = createWorldStore(redis, prefix());
    const markets = [nextMarket(null)];
    for (let i = 1; i < 30; i++) markets.push(nextMarket(markets[i - 1]));
    const shuffled = [...markets].sort(() => Math.random() - 0.5);
    const published = await Promise.all(shuffled.map((market) => store.publishMarket(market)));
    expect(published.filter(Boolean).length).toBeGreaterThanOrEqual(1);
    expect((await store.read()).market).toEqual(markets[29]);
  });

  it('refuses to publish something that is not a market', async () => {
    const store = createWorldStore(redis, prefix());
    await expect(store.publishMarket({ tick: -1 } as never)).rejects.toThrow(/Not a market state/);
    await expect(store.publishMarket(null as never)).rejects.toThrow(/Not a market state/);
  });
});

describe('world store: events', () => {
  it('adds an event by id and removes it only for the run that added it', async () => {
    const store = createWorldStore(redis, prefix());
    const event = fair();
    expect(await store.addEvent({ event, runId: 'run-1' })).toBe(true);
    // A retried add of the same run is harmless.
    expect(await store.addEvent({ event, runId: 'run-1' })).toBe(true);
    expect((await store.read()).events).toEqual([event]);
    expect(sellPrice('wheat', await store.read())).toBe(2 * sellPrice('wheat', NEUTRAL_WORLD));

    expect(await store.removeEvent(event.id, 'run-0')).toBe(false);
    expect((await store.read()).events).toEqual([event]);
    expect(await store.removeEvent(event.id, 'run-1')).toBe(true);
    expect(await store.removeEvent(event.id, 'run-1')).toBe(false);
    expect(await store.read()).toEqual(NEUTRAL_WORLD);
  });

  it('keeps a later run of an event over an earlier one, and the later run owns it', async () => {
    const store = createWorldStore(redis, prefix());
    const earlier = fair({ startedAtMs: Date.now() - 1000 });
    const later = fair({ startedAtMs: Date.now(), name: 'Fair, second run' });
    expect(await store.addEvent({ event: later, runId: 'run-2' })).toBe(true);
    expect(await store.addEvent({ event: earlier, runId: 'run-1' })).toBe(false);
    expect(await store.removeEvent(earlier.id, 'run-1')).toBe(false);
    expect((await store.read()).events).toEqual([later]);
  });

  it('ignores an event whose end has passed, even while its entry is still there', async () => {
    const store = createWorldStore(redis, prefix());
    const over = fair({ startedAtMs: Date.now() - 2000, endsAtMs: Date.now() - 1 });
    await store.addEvent({ event: over, runId: 'run-1' });
    expect(await store.read()).toEqual(NEUTRAL_WORLD);
  });

  it('combines overlapping events by multiplying', async () => {
    const store = createWorldStore(redis, prefix());
    await store.addEvent({ event: fair(), runId: 'a' });
    await store.addEvent({
      event: fair({ id: 'pumpkin-week', effect: { saleMultiplier: 1.5, crops: ['pumpkin'] } }),
      runId: 'b',
    });
    const world = await store.read();
    expect(world.events?.map((e) => e.id).sort()).toEqual(['harvest-fair', 'pumpkin-week']);
    expect(sellPrice('pumpkin', world)).toBe(3 * sellPrice('pumpkin', NEUTRAL_WORLD));
    expect(sellPrice('wheat', world)).toBe(2 * sellPrice('wheat', NEUTRAL_WORLD));
  });
});

describe('world store: malformed data reads as neutral', () => {
  it('ignores a broken market, broken events and bad factors', async () => {
    const keyPrefix = prefix();
    const store = createWorldStore(redis, keyPrefix);
    const key = `${keyPrefix}world`;
    await redis.hSet(key, {
      market: '{not json',
      'event:a': 'nope',
      'event:b': JSON.stringify({ runId: 'r', event: { id: 'b', name: 'B' } }),
      // A crop list that cannot be read must not make the event apply to every crop.
      'event:c': JSON.stringify({
        runId: 'r',
        event: { ...fair({ id: 'c' }), effect: { saleMultiplier: 3, crops: 'all' } },
      }),
      'event:d': JSON.stringify({
        runId: 'r',
        event: { ...fair({ id: 'd' }), effect: { saleMultiplier: -2 } },
      }),
    });
    expect(await store.read()).toEqual(NEUTRAL_WORLD);

    await redis.hSet(key, {
      market: JSON.stringify({
        tick: 3,
        factors: { wheat: 'x', carrot: 1.25, corn: 99, pumpkin: -1 },
        previousFactors: 'x',
      }),
    });
    const { market } = await store.read();
    expect(market).toEqual({
      tick: 3,
      factors: { wheat: 1, carrot: 1.25, corn: 2, pumpkin: 1, strawberry: 1 },
      previousFactors: null,
    });
  });

  it('still reads the first version fields', async () => {
    const store = createWorldStore(redis, prefix());
    const legacy = { marketMultiplier: 1.5, eventMultiplier: 2, eventName: 'Harvest Fair' };
    await store.write(legacy);
    expect(await store.read()).toEqual(legacy);
  });
});

describe('world store: rebuilding a lost world', () => {
  const restoredFrom = (events: RestoredWorld['events'] = []): RestoredWorld => ({
    market: nextMarket(nextMarket(null)),
    events,
  });

  it('rebuilds once when the world is missing, shared by concurrent reads, then reads Redis only', async () => {
    let calls = 0;
    const event = fair();
    const store = createWorldStore(redis, prefix(), {
      restore: async () => {
        calls += 1;
        return restoredFrom([{ event, runId: 'run-1' }]);
      },
    });
    const reads = await Promise.all(Array.from({ length: 10 }, () => store.read()));
    for (const world of reads) {
      expect(world.market?.tick).toBe(2);
      expect(world.events).toEqual([event]);
    }
    await store.read();
    expect(calls).toBe(1);
  });

  it('lets one process rebuild while the others read what Redis holds', async () => {
    const keyPrefix = prefix();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const restore = async () => {
      calls += 1;
      await gate;
      return restoredFrom();
    };
    const one = createWorldStore(redis, keyPrefix, { restore, restoreWaitMs: 10_000 });
    const other = createWorldStore(redis, keyPrefix, { restore, restoreWaitMs: 10_000 });
    const first = one.read();
    await expect.poll(() => calls).toBe(1);
    // The lock is taken: the other process does not wait and does not ask Temporal.
    expect(await other.read()).toEqual(NEUTRAL_WORLD);
    release();
    expect((await first).market?.tick).toBe(2);
    expect((await other.read()).market?.tick).toBe(2);
    expect(calls).toBe(1);
  });

  it('answers neutral within its bound when the rebuild hangs, and takes the rebuild when it comes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const store = createWorldStore(redis, prefix(), {
      restore: async () => {
        await gate;
        return restoredFrom();
      },
      restoreWaitMs: 200,
    });
    const started = Date.now();
    expect(await store.read()).toEqual(NEUTRAL_WORLD);
    expect(Date.now() - started).toBeLessThan(1_000);
    release();
    await expect.poll(async () => (await store.read()).market?.tick).toBe(2);
  });

  it('answers neutral when the rebuild fails, and tries again only after the lock period', async () => {
    let calls = 0;
    const { logger, lines } = captureLogs('warn');
    const store = createWorldStore(redis, prefix(), {
      restore: async () => {
        calls += 1;
        throw new Error('visibility unavailable');
      },
      restoreLockMs: 500,
      logger,
    });
    expect(await store.read()).toEqual(NEUTRAL_WORLD);
    expect(await store.read()).toEqual(NEUTRAL_WORLD);
    expect(calls).toBe(1);
    expect(lines.map((line) => line.msg)).toContain(
      'world state could not be rebuilt from Temporal',
    );
    await new Promise((resolve) => setTimeout(resolve, 600));
    await store.read();
    expect(calls).toBe(2);
    // The market tick's read waits for the rebuild and fails with it (its activity retries).
    await expect(store.read({ waitForRestore: true })).rejects.toThrow('visibility unavailable');
  });

  it('never lets a rebuild step the market back or drop a later run', async () => {
    const store = createWorldStore(redis, prefix(), { restore: async () => restoredFrom() });
    const third = nextMarket(nextMarket(nextMarket(null)));
    await store.publishMarket(third);
    // No restored mark yet: the tick's read rebuilds now.
    await store.read({ waitForRestore: true });
    expect((await store.read()).market).toEqual(third);
  });
});
