/**
 * Button payloads: `1:<code>[:args]`, at most 64 bytes, and every press parsed as untrusted input
 * (Telegram sends back whatever a button carried, and a forged or old payload must parse to null).
 * A sell button carries the unit price its screen showed; one without (from before prices were
 * carried) is stale, so that no sale pays a price the player did not see.
 */
import { describe, expect, it } from 'vitest';
import { type ButtonPress, encodeButton, parseButton } from '../../bot/callback-data';
import {
  CROP_IDS,
  CROPS,
  MARKET_FACTOR_MAX,
  MAX_MULTIPLIER,
  MAX_PLOTS,
  MAX_SELL_QUANTITY,
} from '../../game';

/** The highest unit price the rules can quote: every multiplier at its cap, the dearest crop. */
const HIGHEST_PRICE =
  Math.max(...CROP_IDS.map((id) => CROPS[id].salePrice)) * MAX_MULTIPLIER ** 3 * MARKET_FACTOR_MAX;

/** Every kind of button, with the exact payload it carries. */
const EVERY_KIND: [ButtonPress, string][] = [
  [{ kind: 'farm' }, '1:f'],
  [{ kind: 'help' }, '1:q'],
  [{ kind: 'leaderboard' }, '1:l'],
  [{ kind: 'report' }, '1:r'],
  [{ kind: 'buyPlot' }, '1:b'],
  [{ kind: 'dailyBonus' }, '1:d'],
  [{ kind: 'choosePlot', plotId: 0 }, '1:c:0'],
  [{ kind: 'harvest', plotId: 7 }, '1:h:7'],
  [{ kind: 'plant', plotId: 3, cropId: 'corn' }, '1:p:3:corn'],
  [{ kind: 'sell', cropId: 'wheat', quantity: 3, unitPrice: 5 }, '1:s:wheat:3:5'],
  [{ kind: 'notifications', on: false }, '1:n:0'],
  [{ kind: 'notifications', on: true }, '1:n:1'],
  [{ kind: 'showName', on: false }, '1:v:0'],
  [{ kind: 'showName', on: true }, '1:v:1'],
];

describe('encoding', () => {
  it.each(EVERY_KIND)('%j is %s and parses back to itself', (press, data) => {
    expect(encodeButton(press)).toBe(data);
    expect(parseButton(data)).toEqual(press);
  });

  it('gives every kind its own code', () => {
    const kinds = new Set(EVERY_KIND.map(([press]) => press.kind));
    const codes = new Set(EVERY_KIND.map(([, data]) => data.split(':')[1]));
    expect(codes.size).toBe(kinds.size);
  });

  it('round-trips every plot, every crop and the sale bounds, all within 64 bytes', () => {
    const presses: ButtonPress[] = [];
    for (let plotId = 0; plotId < MAX_PLOTS; plotId++) {
      presses.push({ kind: 'choosePlot', plotId }, { kind: 'harvest', plotId });
      for (const cropId of CROP_IDS) presses.push({ kind: 'plant', plotId, cropId });
    }
    for (const cropId of CROP_IDS) {
      presses.push({ kind: 'sell', cropId, quantity: 1, unitPrice: 1 });
      presses.push({ kind: 'sell', cropId, quantity: MAX_SELL_QUANTITY, unitPrice: HIGHEST_PRICE });
    }
    expect(presses).toHaveLength(MAX_PLOTS * (2 + CROP_IDS.length) + 2 * CROP_IDS.length);
    for (const press of presses) {
      const data = encodeButton(press);
      expect(data.startsWith('1:')).toBe(true);
      expect(Buffer.byteLength(data, 'utf8')).toBeLessThanOrEqual(64);
      expect(parseButton(data)).toEqual(press);
    }
  });
});

describe('parsing untrusted payloads', () => {
  it.each([
    // another version, or none
    ['0:f'],
    ['2:f'],
    ['2:p:0:wheat'],
    ['f'],
    [':f'],
    // unknown codes
    ['1:x'],
    ['1:'],
    ['1:F'],
    ['1:farm'],
    // arguments where none belong, or too many
    ['1:f:0'],
    ['1:d:1'],
    ['1:h:0:1'],
    ['1:p:0:wheat:1'],
    ['1:s:wheat:3:5:1'],
    // plot ids out of range or not whole numbers
    ['1:c'],
    ['1:c:'],
    [`1:c:${MAX_PLOTS}`],
    ['1:c:-1'],
    ['1:c:1.5'],
    ['1:c:100'],
    ['1:h:0x1'],
    ['1:h: 1'],
    // crops that are not in the catalogue (inherited names included)
    ['1:p:0'],
    ['1:p:0:Corn'],
    ['1:p:0:toString'],
    ['1:p:0:__proto__'],
    ['1:s:constructor:1'],
    // quantities outside 1..MAX_SELL_QUANTITY, or not digits
    ['1:s:wheat'],
    ['1:s:wheat:0'],
    [`1:s:wheat:${MAX_SELL_QUANTITY + 1}`],
    ['1:s:wheat:-1'],
    ['1:s:wheat:1e3'],
    ['1:s:wheat:2.5:5'],
    ['1:s:wheat:999999:5'],
    ['1:s:wheat:0:5'],
    // unit prices that are not whole numbers from 1, or not in their one written form
    ['1:s:wheat:3:'],
    ['1:s:wheat:3:0'],
    ['1:s:wheat:3:-5'],
    ['1:s:wheat:3:05'],
    ['1:s:wheat:3:5.5'],
    ['1:s:wheat:3:1e3'],
    ['1:s:wheat:3:x'],
    ['1:s:wheat:3: 5'],
    ['1:s:wheat:3:9007199254740993'],
    // preference switches: exactly 0 or 1
    ['1:n'],
    ['1:v'],
    ['1:n:2'],
    ['1:n:true'],
    ['1:v:01'],
    ['1:v:1:0'],
  ])('%s is refused', (data) => {
    expect(parseButton(data)).toBeNull();
  });

  it.each([['1:s:wheat:3'], ['1:s:corn:1'], [`1:s:strawberry:${MAX_SELL_QUANTITY}`]])(
    'an old sell button without a price (%s) is stale: it sells nothing',
    (data) => {
      expect(parseButton(data)).toBeNull();
    },
  );

  it('carries the price exactly, up to the highest price the rules can quote', () => {
    expect(HIGHEST_PRICE).toBe(120_000_000);
    for (const unitPrice of [1, 9, 10, 4_321, HIGHEST_PRICE, 999_999_999_999_999]) {
      const data = `1:s:pumpkin:7:${unitPrice}`;
      expect(parseButton(data)).toEqual({
        kind: 'sell',
        cropId: 'pumpkin',
        quantity: 7,
        unitPrice,
      });
      expect(encodeButton({ kind: 'sell', cropId: 'pumpkin', quantity: 7, unitPrice })).toBe(data);
    }
  });

  it('refuses empty and over-long payloads', () => {
    expect(parseButton(undefined)).toBeNull();
    expect(parseButton('')).toBeNull();
    // Telegram never sends more than 64 bytes; a longer payload is forged, whatever it says.
    expect(parseButton(`1:s:wheat:${'0'.repeat(54)}1`)).toBeNull();
    expect(parseButton(`1:f${':'.repeat(62)}`)).toBeNull();
  });

  it.each([[42], [null], [{}], [['1:f']], [true]])(
    'refuses data that is not a string (%j) instead of throwing',
    (data) => {
      expect(parseButton(data)).toBeNull();
    },
  );
});
