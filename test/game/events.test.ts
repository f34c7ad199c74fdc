/**
 * Calendar events as the rules see them (game/events.ts): they apply to their crops only, combine
 * by multiplying, and the combined multiplier is capped like every other.
 */
import { describe, expect, it } from 'vitest';
import {
  type ActiveEvent,
  CROP_IDS,
  CROPS,
  type CropId,
  eventAppliesTo,
  eventSaleMultiplier,
  MAX_MULTIPLIER,
  NEUTRAL_WORLD,
  sellPrice,
  type WorldState,
} from '../../game/index.js';
import { CALENDAR_EVENTS } from '../../schedules/events';

const T0 = 1_700_000_000_000;

function event(id: string, saleMultiplier: number, crops?: CropId[]): ActiveEvent {
  return {
    id,
    name: id,
    effect: crops ? { saleMultiplier, crops } : { saleMultiplier },
    startedAtMs: T0,
    endsAtMs: T0 + 60_000,
  };
}

const fair = event('harvest-fair', 2);
const pumpkinWeek = event('pumpkin-week', 1.5, ['pumpkin']);
const withEvents = (...events: ActiveEvent[]): WorldState => ({ ...NEUTRAL_WORLD, events });

describe('eventAppliesTo', () => {
  it('applies an event without a crop list to every crop', () => {
    for (const cropId of CROP_IDS) expect(eventAppliesTo(fair, cropId)).toBe(true);
  });

  it('applies an event with a crop list to those crops only', () => {
    const corny = event('corny', 3, ['corn', 'wheat']);
    expect(CROP_IDS.filter((id) => eventAppliesTo(corny, id))).toEqual(['wheat', 'corn']);
    expect(CROP_IDS.filter((id) => eventAppliesTo(pumpkinWeek, id))).toEqual(['pumpkin']);
    expect(CROP_IDS.filter((id) => eventAppliesTo(event('none', 3, []), id))).toEqual([]);
  });

  it('ignores names in the crop list that are no crop, and malformed events', () => {
    const odd = event('odd', 2, ['banana', 'toString', 'corn'] as unknown as CropId[]);
    expect(CROP_IDS.filter((id) => eventAppliesTo(odd, id))).toEqual(['corn']);
    expect(eventAppliesTo(null as unknown as ActiveEvent, 'corn')).toBe(false);
    expect(eventAppliesTo('fair' as unknown as ActiveEvent, 'corn')).toBe(false);
    // No effect at all: nothing restricts it, and it multiplies by nothing (see below).
    expect(eventAppliesTo({ id: 'x' } as unknown as ActiveEvent, 'corn')).toBe(true);
  });
});

describe('eventSaleMultiplier', () => {
  it('is 1 without events', () => {
    for (const events of [[], null, undefined]) {
      expect(eventSaleMultiplier(events, 'corn')).toBe(1);
    }
  });

  it('multiplies the events that apply to the crop, in any order', () => {
    expect(eventSaleMultiplier([fair], 'wheat')).toBe(2);
    expect(eventSaleMultiplier([pumpkinWeek], 'wheat')).toBe(1);
    expect(eventSaleMultiplier([fair, pumpkinWeek], 'pumpkin')).toBe(3);
    expect(eventSaleMultiplier([pumpkinWeek, fair], 'pumpkin')).toBe(3);
    expect(eventSaleMultiplier([fair, pumpkinWeek], 'corn')).toBe(2);
    expect(eventSaleMultiplier([fair, fair], 'corn')).toBe(4);
  });

  it('skips multipliers that are not positive finite numbers', () => {
    for (const bad of [0, -2, Number.NaN, Number.POSITIVE_INFINITY, '2', null]) {
      const broken = { ...fair, effect: { saleMultiplier: bad } } as unknown as ActiveEvent;
      expect(eventSaleMultiplier([broken, pumpkinWeek], 'pumpkin'), String(bad)).toBe(1.5);
    }
    expect(eventSaleMultiplier([{ id: 'x' } as unknown as ActiveEvent], 'corn')).toBe(1);
  });

  it('neither throws nor counts on world state that is not a list of events', () => {
    for (const junk of [{}, 'fair', 42, [null, 7, 'x', fair]]) {
      expect(() => eventSaleMultiplier(junk as unknown as ActiveEvent[], 'corn')).not.toThrow();
    }
    expect(eventSaleMultiplier({ 0: fair, length: 1 } as unknown as ActiveEvent[], 'corn')).toBe(1);
    expect(eventSaleMultiplier([null, 7, 'x', fair] as unknown as ActiveEvent[], 'corn')).toBe(2);
  });
});

describe('events in sale prices', () => {
  it('double every sale price during the fair', () => {
    for (const cropId of CROP_IDS) {
      expect(sellPrice(cropId, withEvents(fair))).toBe(2 * CROPS[cropId].salePrice);
    }
  });

  it('change only the crops an event names', () => {
    const world = withEvents(pumpkinWeek);
    expect(sellPrice('pumpkin', world)).toBe(90);
    for (const cropId of CROP_IDS.filter((id) => id !== 'pumpkin')) {
      expect(sellPrice(cropId, world)).toBe(CROPS[cropId].salePrice);
    }
  });

  it('combine by multiplying: pumpkins sell at ×3 during the fair in pumpkin week', () => {
    const world = withEvents(fair, pumpkinWeek);
    expect(sellPrice('pumpkin', world)).toBe(3 * CROPS.pumpkin.salePrice);
    expect(sellPrice('corn', world)).toBe(2 * CROPS.corn.salePrice);
  });

  it('combine on top of the market and the first version’s multipliers', () => {
    const world: WorldState = {
      marketMultiplier: 1.5,
      eventMultiplier: 1,
      eventName: null,
      market: {
        tick: 3,
        factors: { wheat: 1.1, carrot: 1, corn: 0.9, pumpkin: 1, strawberry: 1 },
        previousFactors: null,
      },
      events: [fair],
    };
    // 20 × 1.5 × 0.9 × 2 = 54; 4 × 1.5 × 1.1 × 2 = 13.2 → 13.
    expect(sellPrice('corn', world)).toBe(54);
    expect(sellPrice('wheat', world)).toBe(13);
  });

  it('cap the combined multiplier at MAX_MULTIPLIER, however large the events', () => {
    const capped = MAX_MULTIPLIER * CROPS.wheat.salePrice;
    expect(sellPrice('wheat', withEvents(event('a', 50), event('b', 50)))).toBe(capped);
    expect(sellPrice('wheat', withEvents(event('a', 1e200), event('b', 1e200)))).toBe(capped);
    expect(sellPrice('wheat', withEvents(event('a', Number.MAX_VALUE), event('b', 2)))).toBe(
      capped,
    );
  });

  it('never sell below 1 coin, however small the events', () => {
    expect(sellPrice('wheat', withEvents(event('a', 1e-200), event('b', 1e-200)))).toBe(1);
    expect(sellPrice('wheat', withEvents(event('a', 0.01)))).toBe(1);
  });
});

describe('the calendar’s events', () => {
  it('combine as game/events.ts documents: the fair in pumpkin week sells pumpkins at ×3', () => {
    const active = CALENDAR_EVENTS.map((e) => ({
      id: e.id,
      name: e.name,
      effect: e.effect,
      startedAtMs: T0,
      endsAtMs: T0 + e.durationSeconds * 1000,
    }));
    expect(active.map((e) => e.id)).toEqual(
      expect.arrayContaining(['harvest-fair', 'pumpkin-week']),
    );
    const fairAndWeek = active.filter((e) => ['harvest-fair', 'pumpkin-week'].includes(e.id));
    expect(eventSaleMultiplier(fairAndWeek, 'pumpkin')).toBe(3);
    expect(eventSaleMultiplier(fairAndWeek, 'wheat')).toBe(2);
  });
});
