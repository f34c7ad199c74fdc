import { describe, expect, it } from 'vitest';
import { CROP_IDS, CROPS, cropQuantityText, isCropId } from '../../game/index.js';

const MINUTE = 60;
const HOUR = 60 * MINUTE;

describe('crop catalogue', () => {
  it('has an entry for every id, keyed by its own id', () => {
    expect(Object.keys(CROPS).sort()).toEqual([...CROP_IDS].sort());
    for (const id of CROP_IDS) expect(CROPS[id].id).toBe(id);
  });

  it('grows in the agreed times at scale 1', () => {
    expect(CROPS.wheat.growSeconds).toBe(2 * MINUTE);
    expect(CROPS.carrot.growSeconds).toBe(5 * MINUTE);
    expect(CROPS.corn.growSeconds).toBe(15 * MINUTE);
    expect(CROPS.pumpkin.growSeconds).toBe(1 * HOUR);
    expect(CROPS.strawberry.growSeconds).toBe(4 * HOUR);
  });

  it.each(CROP_IDS)('%s has positive whole-number economics', (id) => {
    const crop = CROPS[id];
    for (const value of [crop.growSeconds, crop.seedPrice, crop.salePrice, crop.xp, crop.yield]) {
      expect(Number.isInteger(value)).toBe(true);
      expect(value).toBeGreaterThan(0);
    }
    expect(Number.isInteger(crop.unlockLevel)).toBe(true);
    expect(crop.unlockLevel).toBeGreaterThanOrEqual(1);
    expect(crop.name.length).toBeGreaterThan(0);
    expect(crop.emoji.length).toBeGreaterThan(0);
  });

  it.each(CROP_IDS)('%s sells for more than its seeds at a neutral market', (id) => {
    const crop = CROPS[id];
    expect(crop.salePrice * crop.yield).toBeGreaterThan(crop.seedPrice);
  });

  it('lists crops from quickest to slowest, each unlocking later and paying more per harvest', () => {
    const profit = (id: (typeof CROP_IDS)[number]) =>
      CROPS[id].salePrice * CROPS[id].yield - CROPS[id].seedPrice;
    for (let i = 1; i < CROP_IDS.length; i++) {
      const before = CROP_IDS[i - 1]!;
      const after = CROP_IDS[i]!;
      expect(CROPS[after].growSeconds).toBeGreaterThan(CROPS[before].growSeconds);
      expect(CROPS[after].unlockLevel).toBeGreaterThan(CROPS[before].unlockLevel);
      expect(profit(after)).toBeGreaterThan(profit(before));
      expect(CROPS[after].xp).toBeGreaterThan(CROPS[before].xp);
    }
  });

  it('lets a new player plant the first crop', () => {
    expect(CROPS[CROP_IDS[0]].unlockLevel).toBe(1);
  });

  it('cannot be changed at run time', () => {
    expect(Object.isFrozen(CROPS)).toBe(true);
    for (const id of CROP_IDS) expect(Object.isFrozen(CROPS[id])).toBe(true);
  });
});

describe('isCropId', () => {
  it.each(CROP_IDS)('accepts %s', (id) => {
    expect(isCropId(id)).toBe(true);
  });

  it.each([
    'banana',
    'Wheat',
    ' wheat',
    '',
    'toString',
    '__proto__',
    'constructor',
    'hasOwnProperty',
    1,
    null,
    undefined,
    {},
    ['wheat'],
  ])('rejects %j', (value) => {
    expect(isCropId(value)).toBe(false);
  });
});

describe('cropQuantityText', () => {
  it('uses the singular for one and the plural otherwise', () => {
    expect(cropQuantityText('carrot', 1)).toBe('1 carrot');
    expect(cropQuantityText('carrot', 3)).toBe('3 carrots');
    expect(cropQuantityText('strawberry', 2)).toBe('2 strawberries');
    expect(cropQuantityText('wheat', 3)).toBe('3 wheat');
    expect(cropQuantityText('corn', 0)).toBe('0 corn');
  });
});
