/**
 * Quoted sales (game/rules.ts): a sale carries the unit price the player's screen showed. It pays
 * that price when it is today's or the previous market tick's (a screen at most one tick old), and
 * is refused with the new price otherwise. A sale without a quote (older clients, farms' histories)
 * pays today's price exactly as before.
 */
import { describe, expect, it } from 'vitest';
import {
  acceptedSalePrices,
  type ActionResult,
  type ActiveEvent,
  applyAction,
  CROP_IDS,
  CROPS,
  type FarmAction,
  type FarmState,
  type MarketFactors,
  type MarketState,
  MAX_SELL_QUANTITY,
  newFarm,
  NEUTRAL_WORLD,
  neutralMarket,
  nextMarket,
  sellPrice,
  validateAction,
  type WorldState,
} from '../../game/index.js';

const T0 = 1_700_000_000_000;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

const farm = (overrides: Partial<FarmState> = {}): FarmState =>
  deepFreeze({ ...newFarm(T0, 1), coins: 10, inventory: { corn: 5, wheat: 3 }, ...overrides });

const factors = (corn: number, rest = 1): MarketFactors => ({
  wheat: rest,
  carrot: rest,
  corn,
  pumpkin: rest,
  strawberry: rest,
});

/** A world with a market: corn at `now` × 20 coins, a tick earlier at `before` × 20. */
function marketWorld(now: number, before: number | null, events?: ActiveEvent[]): WorldState {
  const market: MarketState = {
    tick: 7,
    factors: factors(now),
    previousFactors: before === null ? null : factors(before),
  };
  return { ...NEUTRAL_WORLD, market, ...(events ? { events } : {}) };
}

const fair: ActiveEvent = {
  id: 'harvest-fair',
  name: 'Friday harvest fair',
  effect: { saleMultiplier: 2 },
  startedAtMs: T0,
  endsAtMs: T0 + 60_000,
};

const sellCorn = (quantity: number, unitPrice?: number): FarmAction =>
  unitPrice === undefined
    ? { type: 'sell', cropId: 'corn', quantity }
    : { type: 'sell', cropId: 'corn', quantity, unitPrice };

function expectOk(result: ActionResult) {
  if (!result.ok) throw new Error(`expected the sale to succeed, got: ${result.reason}`);
  return result;
}

describe('acceptedSalePrices', () => {
  it('is today’s price alone without a market, or before its second tick', () => {
    expect(acceptedSalePrices('corn', NEUTRAL_WORLD)).toEqual([20]);
    expect(acceptedSalePrices('corn', { ...NEUTRAL_WORLD, market: null })).toEqual([20]);
    expect(acceptedSalePrices('corn', { ...NEUTRAL_WORLD, market: neutralMarket() })).toEqual([20]);
    expect(acceptedSalePrices('corn', marketWorld(1.2, null))).toEqual([24]);
  });

  it('is today’s price and the previous tick’s, each once', () => {
    expect(acceptedSalePrices('corn', marketWorld(1.2, 1.1))).toEqual([24, 22]);
    // 20 × 1.01 and 20 × 0.99 both round to 20: one price.
    expect(acceptedSalePrices('corn', marketWorld(1.01, 0.99))).toEqual([20]);
  });

  it('prices both with the events running now', () => {
    expect(acceptedSalePrices('corn', marketWorld(1.2, 1.1, [fair]))).toEqual([48, 44]);
  });

  it('accepts, after the first tick, what screens shown before it priced (factor 1)', () => {
    const world = { ...NEUTRAL_WORLD, market: nextMarket(null) };
    for (const cropId of CROP_IDS) {
      expect(acceptedSalePrices(cropId, world)).toContain(CROPS[cropId].salePrice);
    }
  });
});

describe('a quoted sale', () => {
  it('pays today’s price when the quote is today’s', () => {
    const { state, event } = expectOk(
      applyAction(farm(), sellCorn(2, 24), marketWorld(1.2, 1.1), T0),
    );
    expect(event).toEqual({
      type: 'sold',
      cropId: 'corn',
      quantity: 2,
      coinsEarned: 48,
      unitPrice: 24,
    });
    expect(state.coins).toBe(58);
    expect(state.inventory).toEqual({ corn: 3, wheat: 3 });
  });

  it('pays the quoted price when the quote is the previous tick’s (a screen one tick old)', () => {
    const { state, event } = expectOk(
      applyAction(farm(), sellCorn(5, 22), marketWorld(1.2, 1.1), T0),
    );
    expect(event).toMatchObject({ unitPrice: 22, coinsEarned: 110 });
    expect(state.coins).toBe(120);
    expect(state.inventory).toEqual({ wheat: 3 });
  });

  it('pays the previous tick’s price even when it was the higher one', () => {
    const { event } = expectOk(applyAction(farm(), sellCorn(1, 24), marketWorld(1.1, 1.2), T0));
    expect(event).toMatchObject({ unitPrice: 24, coinsEarned: 24 });
  });

  it.each([
    ['two ticks old', 26],
    ['higher than any screen showed', 1_000],
    ['lower than any screen showed', 1],
    ['off by one', 23],
  ])('is refused with the new price when the quote is %s, and nothing changes', (_, quote) => {
    const state = farm();
    const result = applyAction(state, sellCorn(2, quote), marketWorld(1.2, 1.1), T0);
    expect(result).toEqual({ ok: false, reason: 'Price changed: now 24 🪙 each.' });
    expect(state.coins).toBe(10);
    expect(state.inventory).toEqual({ corn: 5, wheat: 3 });
  });

  it('follows the market tick by tick: a screen one tick old pays, two ticks old is refused', () => {
    // Walk the real market until corn's price differs on each of three ticks in a row.
    let market = nextMarket(null);
    const price = (m: MarketState) => sellPrice('corn', { ...NEUTRAL_WORLD, market: m });
    for (let i = 0; i < 1000; i++) {
      const next = nextMarket(market);
      const after = nextMarket(next);
      if (new Set([price(market), price(next), price(after)]).size === 3) break;
      market = next;
    }
    const shown = price(market); // the screen, at tick N
    const oneTick = { ...NEUTRAL_WORLD, market: nextMarket(market) };
    const twoTicks = { ...NEUTRAL_WORLD, market: nextMarket(oneTick.market) };
    expect(new Set([shown, sellPrice('corn', oneTick), sellPrice('corn', twoTicks)]).size).toBe(3);

    expect(expectOk(applyAction(farm(), sellCorn(1, shown), oneTick, T0)).event).toMatchObject({
      unitPrice: shown,
    });
    expect(applyAction(farm(), sellCorn(1, shown), twoTicks, T0)).toEqual({
      ok: false,
      reason: `Price changed: now ${sellPrice('corn', twoTicks)} 🪙 each.`,
    });
  });

  it('is refused when an event started since the screen (its price is not the screen’s)', () => {
    const before = marketWorld(1.2, 1.1);
    const during = marketWorld(1.2, 1.1, [fair]);
    const shown = sellPrice('corn', before);
    expect(applyAction(farm(), sellCorn(1, shown), during, T0)).toEqual({
      ok: false,
      reason: 'Price changed: now 48 🪙 each.',
    });
  });

  it('still says first when there is nothing to sell', () => {
    expect(
      applyAction(
        farm(),
        { type: 'sell', cropId: 'pumpkin', quantity: 9, unitPrice: 1 },
        NEUTRAL_WORLD,
        T0,
      ),
    ).toEqual({ ok: false, reason: 'You have no pumpkins to sell.' });
    expect(applyAction(farm(), sellCorn(9, 1), NEUTRAL_WORLD, T0)).toEqual({
      ok: false,
      reason: 'You have only 5 corn to sell.',
    });
  });
});

describe('a sale without a quote (older clients, farms’ histories)', () => {
  it('pays today’s price, whatever the market was a tick ago', () => {
    const { event } = expectOk(applyAction(farm(), sellCorn(2), marketWorld(1.2, 1.1), T0));
    expect(event).toMatchObject({ unitPrice: 24, coinsEarned: 48 });
  });

  it('replays as before: the first version’s worlds price as salePrice × market × event', () => {
    const legacy = (marketMultiplier: number, eventMultiplier: number): WorldState => ({
      marketMultiplier,
      eventMultiplier,
      eventName: eventMultiplier === 1 ? null : 'Fair',
    });
    for (const [market, eventMultiplier] of [
      [1, 1],
      [1.3, 1.5],
      [0.5, 1],
      [2, 3],
      [0.01, 1],
    ] as const) {
      for (const cropId of CROP_IDS) {
        const state = farm({ coins: 0, inventory: { [cropId]: 7 } });
        const { event, state: next } = expectOk(
          applyAction(
            state,
            { type: 'sell', cropId, quantity: 7 },
            legacy(market, eventMultiplier),
            T0,
          ),
        );
        const unit = Math.max(1, Math.round(CROPS[cropId].salePrice * market * eventMultiplier));
        expect(event).toEqual({
          type: 'sold',
          cropId,
          quantity: 7,
          coinsEarned: unit * 7,
          unitPrice: unit,
        });
        expect(next.coins).toBe(unit * 7);
      }
    }
  });
});

describe('validateAction and the quote', () => {
  it('keeps a whole, positive unit price', () => {
    expect(validateAction({ type: 'sell', cropId: 'corn', quantity: 2, unitPrice: 24 })).toEqual({
      type: 'sell',
      cropId: 'corn',
      quantity: 2,
      unitPrice: 24,
    });
    expect(
      validateAction({
        type: 'sell',
        cropId: 'corn',
        quantity: MAX_SELL_QUANTITY,
        unitPrice: Number.MAX_SAFE_INTEGER,
      }),
    ).toMatchObject({ unitPrice: Number.MAX_SAFE_INTEGER });
  });

  it('adds no unitPrice field to a sale without one (histories keep their shape)', () => {
    const result = validateAction({ type: 'sell', cropId: 'corn', quantity: 2 });
    expect(Object.keys(result)).toEqual(['type', 'cropId', 'quantity']);
  });

  it.each([
    [0],
    [-24],
    [24.5],
    [Number.NaN],
    [Number.POSITIVE_INFINITY],
    [2 ** 53],
    ['24'],
    [null],
    [[24]],
    [{}],
  ])('rejects the unit price %j, and applyAction refuses it unchanged', (unitPrice) => {
    const raw = { type: 'sell', cropId: 'corn', quantity: 2, unitPrice };
    expect(validateAction(raw)).toEqual({ reason: 'The price must be a whole number of coins.' });
    const state = farm();
    expect(applyAction(state, raw as unknown as FarmAction, marketWorld(1.2, 1.1), T0)).toEqual({
      ok: false,
      reason: 'The price must be a whole number of coins.',
    });
  });
});
