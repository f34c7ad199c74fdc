/** The farm's coin record: one balance per game day, kept for COIN_RECORD_DAYS, gaps carried. */
import { describe, expect, it } from 'vitest';
import { COIN_RECORD_DAYS, coinDayMs, coinDaysUntil, recordCoins } from '../../game';

const DAY = coinDayMs(1);
const MIDNIGHT = Date.UTC(2026, 10, 30);

describe('recordCoins', () => {
  it('keeps one point per day, the last balance of that day', () => {
    let days = recordCoins([], 50, MIDNIGHT + 1_000, 1);
    days = recordCoins(days, 70, MIDNIGHT + 2_000, 1);
    expect(days).toEqual([{ dayStartMs: MIDNIGHT, coins: 70 }]);
    days = recordCoins(days, 20, MIDNIGHT + DAY + 5, 1);
    expect(days).toEqual([
      { dayStartMs: MIDNIGHT, coins: 70 },
      { dayStartMs: MIDNIGHT + DAY, coins: 20 },
    ]);
  });

  it(`forgets days older than ${COIN_RECORD_DAYS} but the newest of them, the window's start`, () => {
    let days = recordCoins([], 1, MIDNIGHT, 1);
    for (let d = 1; d <= COIN_RECORD_DAYS + 3; d++) {
      days = recordCoins(days, d + 1, MIDNIGHT + d * DAY, 1);
    }
    expect(days).toHaveLength(COIN_RECORD_DAYS + 1);
    expect(days[0]).toEqual({ dayStartMs: MIDNIGHT + 3 * DAY, coins: 4 });
    expect(days.at(-1)).toEqual({
      dayStartMs: MIDNIGHT + (COIN_RECORD_DAYS + 3) * DAY,
      coins: COIN_RECORD_DAYS + 4,
    });
  });

  it('charts a farm quiet for weeks with its balance on every day, after its next change', () => {
    const days = recordCoins(recordCoins([], 9, MIDNIGHT, 1), 12, MIDNIGHT + 20 * DAY, 1);
    const points = coinDaysUntil(days, 12, MIDNIGHT + 20 * DAY + 5, 1);
    expect(points).toHaveLength(COIN_RECORD_DAYS);
    expect(points.slice(0, -1).every((p) => p.coins === 9)).toBe(true);
    expect(points.at(-1)!.coins).toBe(12);
  });

  it('scales the day with the farm (a test farm at 0.001 has 86.4 s days)', () => {
    expect(coinDayMs(0.001)).toBe(86_400);
    const days = recordCoins([], 5, 86_400 * 3 + 10, 0.001);
    expect(days).toEqual([{ dayStartMs: 86_400 * 3, coins: 5 }]);
  });
});

describe('coinDaysUntil', () => {
  it('is today alone for a farm with no record', () => {
    expect(coinDaysUntil([], 50, MIDNIGHT + 10, 1)).toEqual([{ dayStartMs: MIDNIGHT, coins: 50 }]);
  });

  it('fills days without a change with the balance before them, and ends with today now', () => {
    const days = [
      { dayStartMs: MIDNIGHT, coins: 10 },
      { dayStartMs: MIDNIGHT + 3 * DAY, coins: 40 },
    ];
    expect(coinDaysUntil(days, 99, MIDNIGHT + 5 * DAY + 1, 1).map((d) => d.coins)).toEqual([
      10, 10, 10, 40, 40, 99,
    ]);
  });

  it(`shows at most ${COIN_RECORD_DAYS} days, starting with the balance the window began with`, () => {
    const days = [{ dayStartMs: MIDNIGHT, coins: 7 }];
    const points = coinDaysUntil(days, 8, MIDNIGHT + 30 * DAY, 1);
    expect(points).toHaveLength(COIN_RECORD_DAYS);
    expect(points[0]).toEqual({
      dayStartMs: MIDNIGHT + (30 - COIN_RECORD_DAYS + 1) * DAY,
      coins: 7,
    });
    expect(points.at(-1)).toEqual({ dayStartMs: MIDNIGHT + 30 * DAY, coins: 8 });
  });
});
