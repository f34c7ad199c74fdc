/**
 * The farm's own record of its coins: one balance per game day (the balance at the end of the
 * day, or now for today), for the farm report's chart. Pure: the farm workflow keeps it.
 */
import { scaledMs } from './rules.js';

/** Days the record keeps, and the report shows. */
export const COIN_RECORD_DAYS = 14;

/** A game day, in seconds at time scale 1 (scaled like every game duration). */
const DAY_SECONDS = 24 * 60 * 60;

export interface CoinDay {
  /** Start of the game day (UTC midnight at time scale 1). */
  dayStartMs: number;
  /** The balance at the end of that day; for today, the balance now. */
  coins: number;
}

/** A game day's length on a farm of this time scale. */
export function coinDayMs(timeScale: number): number {
  return scaledMs(DAY_SECONDS, timeScale);
}

function dayStart(atMs: number, timeScale: number): number {
  const day = coinDayMs(timeScale);
  return Math.floor(atMs / day) * day;
}

/**
 * The record after the balance became `coins` at `atMs`: today's point set, days older than
 * COIN_RECORD_DAYS dropped but the newest of them, the balance the window starts with (a farm
 * quiet for weeks still charts its balance). Returns a new array (oldest first).
 */
export function recordCoins(
  days: readonly CoinDay[],
  coins: number,
  atMs: number,
  timeScale: number,
): CoinDay[] {
  const today = dayStart(atMs, timeScale);
  const oldest = today - (COIN_RECORD_DAYS - 1) * coinDayMs(timeScale);
  const before = days.filter((d) => d.dayStartMs < oldest).at(-1);
  const kept = days.filter((d) => d.dayStartMs >= oldest && d.dayStartMs < today);
  return [...(before ? [before] : []), ...kept, { dayStartMs: today, coins }];
}

/**
 * The chart's points at `nowMs`: one per day from the first recorded day (at most COIN_RECORD_DAYS
 * back) to today, a day without a change carrying the balance before it, today the balance now.
 */
export function coinDaysUntil(
  days: readonly CoinDay[],
  coinsNow: number,
  nowMs: number,
  timeScale: number,
): CoinDay[] {
  const dayMs = coinDayMs(timeScale);
  const today = dayStart(nowMs, timeScale);
  const oldest = today - (COIN_RECORD_DAYS - 1) * dayMs;
  const recorded = days.filter((d) => d.dayStartMs < today);
  // The balance a day ended with: its own point, or the last before it (days before the window
  // give the balance the window starts with).
  const first = recorded.find((d) => d.dayStartMs >= oldest)?.dayStartMs ?? today;
  const start = recorded.some((d) => d.dayStartMs < oldest) ? oldest : first;
  const points: CoinDay[] = [];
  let balance = 0;
  let next = 0;
  for (let day = start; day < today; day += dayMs) {
    while (next < recorded.length && recorded[next]!.dayStartMs <= day) {
      balance = recorded[next]!.coins;
      next += 1;
    }
    points.push({ dayStartMs: day, coins: balance });
  }
  points.push({ dayStartMs: today, coins: coinsNow });
  return points;
}
