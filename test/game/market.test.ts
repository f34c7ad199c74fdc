/**
 * The market walk (game/market.ts): bounded, reproducible from the tick, at most one step a tick,
 * and random enough that a player cannot read the next move off the last ones.
 */
import { describe, expect, it } from 'vitest';
import {
  CROP_IDS,
  type CropId,
  MARKET_FACTOR_MAX,
  MARKET_FACTOR_MIN,
  MARKET_MAX_STEP_PERCENT,
  type MarketFactors,
  type MarketState,
  marketFactor,
  neutralMarket,
  nextMarket,
} from '../../game/index.js';

const factorsOf = (value: number | ((cropId: CropId) => number)): MarketFactors =>
  Object.fromEntries(
    CROP_IDS.map((id) => [id, typeof value === 'number' ? value : value(id)]),
  ) as MarketFactors;

/** The market after `ticks` ticks from the neutral one, every state on the way included. */
function walk(ticks: number): MarketState[] {
  const states = [neutralMarket()];
  for (let i = 0; i < ticks; i++) states.push(nextMarket(states.at(-1)));
  return states;
}

/** A step in hundredths, as the walk takes it (factors are whole hundredths). */
const stepOf = (from: MarketState, to: MarketState, cropId: CropId) =>
  Math.round((to.factors[cropId] - from.factors[cropId]) * 100);

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

const LONG_WALK = walk(3000);

describe('the neutral market', () => {
  it('is tick 0, every factor 1, no previous tick', () => {
    expect(neutralMarket()).toEqual({ tick: 0, factors: factorsOf(1), previousFactors: null });
  });

  it('is what a missing market moves from', () => {
    expect(nextMarket(null)).toEqual(nextMarket(neutralMarket()));
    expect(nextMarket(undefined)).toEqual(nextMarket(neutralMarket()));
  });
});

describe('nextMarket', () => {
  it('counts ticks up by one and keeps the factors it moved from as previousFactors', () => {
    for (let i = 1; i < LONG_WALK.length; i++) {
      const [before, after] = [LONG_WALK[i - 1]!, LONG_WALK[i]!];
      expect(after.tick).toBe(before.tick + 1);
      expect(after.previousFactors).toEqual(before.factors);
    }
    // Screens shown before the first tick priced at the neutral factors.
    expect(LONG_WALK[1]!.previousFactors).toEqual(factorsOf(1));
  });

  it('is reproducible: the same market gives the same next market, and the input is untouched', () => {
    const market = deepFreeze(LONG_WALK[1234]!);
    const copy = JSON.parse(JSON.stringify(market)) as MarketState;
    expect(nextMarket(market)).toEqual(nextMarket(copy));
    expect(nextMarket(market)).toEqual(LONG_WALK[1235]);
    expect(walk(50)).toEqual(LONG_WALK.slice(0, 51));
  });

  it('keeps every factor in bounds, in whole hundredths, moving at most one step a tick', () => {
    const problems: string[] = [];
    for (let i = 1; i < LONG_WALK.length; i++) {
      for (const cropId of CROP_IDS) {
        const factor = LONG_WALK[i]!.factors[cropId];
        const step = stepOf(LONG_WALK[i - 1]!, LONG_WALK[i]!, cropId);
        if (factor < MARKET_FACTOR_MIN || factor > MARKET_FACTOR_MAX)
          problems.push(`tick ${i} ${cropId} ${factor}`);
        if (Math.round(factor * 100) / 100 !== factor)
          problems.push(`tick ${i} ${cropId} ${factor}`);
        if (Math.abs(step) > MARKET_MAX_STEP_PERCENT) problems.push(`tick ${i} ${cropId} ${step}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('survives JSON exactly (world state goes through Redis and workflow payloads)', () => {
    for (const market of LONG_WALK.slice(0, 200)) {
      expect(JSON.parse(JSON.stringify(market))).toEqual(market);
    }
  });

  it('draws the steps from the tick number: the same tick moves every market alike', () => {
    const fromLow = nextMarket({ tick: 41, factors: factorsOf(0.8), previousFactors: null });
    const fromHigh = nextMarket({ tick: 41, factors: factorsOf(1.5), previousFactors: null });
    for (const cropId of CROP_IDS) {
      expect(Math.round((fromLow.factors[cropId] - 0.8) * 100)).toBe(
        Math.round((fromHigh.factors[cropId] - 1.5) * 100),
      );
    }
    const nextTick = nextMarket({ tick: 42, factors: factorsOf(0.8), previousFactors: null });
    expect(nextTick.factors).not.toEqual(fromLow.factors);
  });

  it('takes every step size, for every crop, with no pattern from one tick to the next', () => {
    for (const cropId of CROP_IDS) {
      const steps = LONG_WALK.slice(1).map((m, i) => stepOf(LONG_WALK[i]!, m, cropId));
      // Every whole step from -MAX to +MAX occurs.
      expect(new Set(steps).size).toBe(2 * MARKET_MAX_STEP_PERCENT + 1);
      // Lag-1 and lag-2 correlation: near 0 for independent steps (a seed that is not mixed well
      // makes the first crop's step fall by one every tick: correlation ~0.7).
      const mean = steps.reduce((a, b) => a + b, 0) / steps.length;
      const variance = steps.reduce((a, b) => a + (b - mean) ** 2, 0) / steps.length;
      for (const lag of [1, 2, 7]) {
        let covariance = 0;
        for (let i = lag; i < steps.length; i++)
          covariance += (steps[i]! - mean) * (steps[i - lag]! - mean);
        expect(Math.abs(covariance / steps.length / variance), `${cropId} lag ${lag}`).toBeLessThan(
          0.1,
        );
      }
    }
  });

  it('moves each crop on its own (crops do not move in lockstep)', () => {
    const stepsOf = (cropId: CropId) =>
      LONG_WALK.slice(1, 101).map((m, i) => stepOf(LONG_WALK[i]!, m, cropId));
    const distinct = new Set(CROP_IDS.map((id) => JSON.stringify(stepsOf(id))));
    expect(distinct.size).toBe(CROP_IDS.length);
  });

  it('stays within bounds from the edges', () => {
    let low: MarketState = {
      tick: 0,
      factors: factorsOf(MARKET_FACTOR_MIN),
      previousFactors: null,
    };
    let high: MarketState = {
      tick: 0,
      factors: factorsOf(MARKET_FACTOR_MAX),
      previousFactors: null,
    };
    const seenLow = new Set<number>();
    for (let i = 0; i < 40; i++) {
      low = nextMarket(low);
      high = nextMarket(high);
      for (const cropId of CROP_IDS) {
        seenLow.add(low.factors[cropId]);
        expect(low.factors[cropId]).toBeGreaterThanOrEqual(MARKET_FACTOR_MIN);
        expect(high.factors[cropId]).toBeLessThanOrEqual(MARKET_FACTOR_MAX);
      }
    }
    // Not stuck at the edge: the walk leaves it again.
    expect([...seenLow].some((f) => f > MARKET_FACTOR_MIN)).toBe(true);
  });

  it('treats a malformed market as neutral, factor by factor, and restarts a malformed tick', () => {
    const malformed = {
      tick: -3,
      factors: { wheat: Number.NaN, carrot: -1, corn: 7, pumpkin: 'x', extra: 2 },
      previousFactors: 'garbage',
    } as unknown as MarketState;
    const next = nextMarket(malformed);
    expect(next.tick).toBe(1);
    // What the malformed factors traded at: neutral, neutral, capped, neutral, neutral (missing).
    expect(next.previousFactors).toEqual({
      wheat: 1,
      carrot: 1,
      corn: MARKET_FACTOR_MAX,
      pumpkin: 1,
      strawberry: 1,
    });
    for (const tick of [1.5, Number.NaN, undefined, '7', 2 ** 60]) {
      const market = {
        tick,
        factors: factorsOf(1),
        previousFactors: null,
      } as unknown as MarketState;
      expect(nextMarket(market).tick, String(tick)).toBe(1);
    }
    expect(() => nextMarket({ tick: 5 } as unknown as MarketState)).not.toThrow();
  });
});

describe('marketFactor', () => {
  it('reads a crop’s factor, clamped to the bounds, and 1 when unusable', () => {
    expect(marketFactor(factorsOf(1.37), 'corn')).toBe(1.37);
    expect(marketFactor(factorsOf(9), 'corn')).toBe(MARKET_FACTOR_MAX);
    expect(marketFactor(factorsOf(0.1), 'corn')).toBe(MARKET_FACTOR_MIN);
    expect(marketFactor(factorsOf(1.234), 'corn')).toBe(1.23);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(marketFactor(factorsOf(bad), 'corn')).toBe(1);
    }
    expect(marketFactor(null, 'corn')).toBe(1);
    expect(marketFactor(undefined, 'corn')).toBe(1);
    expect(marketFactor({ wheat: 1.5 }, 'corn')).toBe(1);
  });
});
