/**
 * The market: a price factor per crop that a scheduled tick moves by a bounded random walk.
 * Pure and deterministic: the walk is seeded by the tick number, so the same market and tick
 * always give the same next market (tests and replays agree).
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { CROP_IDS, type CropId } from './crops.js';

/** Prices stay between half and twice a crop's base sale price. */
export const MARKET_FACTOR_MIN = 0.5;
export const MARKET_FACTOR_MAX = 2;
/** A tick moves a factor by at most this, up or down (in hundredths). */
export const MARKET_MAX_STEP_PERCENT = 10;

export type MarketFactors = Record<CropId, number>;

export interface MarketState {
  /** Counts the ticks applied: 1 after the first. */
  tick: number;
  /** Multiplies each crop's base sale price; hundredths, so JSON round trips are exact. */
  factors: MarketFactors;
  /**
   * The factors of the tick before, so that a sale quoted on a screen one tick old still pays
   * what the screen showed. Null only before the first tick; after it, the neutral market's
   * factors (1), which screens shown before the first tick priced with.
   */
  previousFactors: MarketFactors | null;
  /**
   * This world's own walk: the first tick draws it (in the workflow, so its history keeps it) and
   * every later tick carries it on, so that the code, which is public, does not tell the prices
   * to come. Absent in markets written before it existed, which walk as seed 0.
   */
  seed?: number;
}

/** The market before any tick: every factor 1. */
export function neutralMarket(): MarketState {
  return { tick: 0, factors: neutralFactors(), previousFactors: null };
}

function neutralFactors(): MarketFactors {
  return Object.fromEntries(CROP_IDS.map((id) => [id, 1])) as MarketFactors;
}

/** The factor a crop trades at: 1 when unknown or malformed (a neutral market). */
export function marketFactor(factors: Partial<MarketFactors> | null | undefined, cropId: CropId) {
  const value = factors?.[cropId];
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? clampFactor(value) : 1;
}

/** A market's seed: a 32-bit integer, or undefined. */
export function marketSeed(value: unknown): number | undefined {
  return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= 0xffffffff
    ? (value as number)
    : undefined;
}

/**
 * The market after one more tick. Each crop's factor moves by a whole number of hundredths in
 * [-MARKET_MAX_STEP_PERCENT, +MARKET_MAX_STEP_PERCENT], drawn from a generator seeded by the
 * market's seed and the new tick number, and stays within [MARKET_FACTOR_MIN, MARKET_FACTOR_MAX].
 * `seedIfNone` becomes the seed of a market that has none yet (0 when not given).
 */
export function nextMarket(current: MarketState | null | undefined, seedIfNone = 0): MarketState {
  const base = current ?? neutralMarket();
  const tick = (Number.isSafeInteger(base.tick) && base.tick >= 0 ? base.tick : 0) + 1;
  const seed = marketSeed(base.seed) ?? marketSeed(seedIfNone) ?? 0;
  // Seed 0 walks as the tick alone; another seed spreads the walks apart (a golden-ratio step).
  const rng = xoroshiro128plus((Math.imul(seed, 0x9e3779b1) + tick) | 0);
  // Seeds 1, 2, 3… differ in a few low bits, and xoroshiro's first outputs show it (the first
  // crop's step would fall by one every tick). A jump mixes the seed into the whole state.
  rng.jump();
  const factors = neutralFactors();
  const previousFactors = neutralFactors();
  for (const cropId of CROP_IDS) {
    // The factor the crop traded at: what a screen of the tick before showed.
    previousFactors[cropId] = marketFactor(base.factors, cropId);
    const hundredths = Math.round(previousFactors[cropId] * 100);
    const step = uniformInt(rng, -MARKET_MAX_STEP_PERCENT, MARKET_MAX_STEP_PERCENT);
    factors[cropId] = clampFactor((hundredths + step) / 100);
  }
  return { tick, factors, previousFactors, seed };
}

function clampFactor(value: number): number {
  return Math.min(MARKET_FACTOR_MAX, Math.max(MARKET_FACTOR_MIN, Math.round(value * 100) / 100));
}
