/**
 * The screens as Telegram shows them, rendered from plain data: no server, no clock. Countdowns come
 * from the snapshot's `asOfMs` (set far from the wall clock here, so reading `Date.now()` would
 * show), and every button's callback data must fit Telegram's 64 bytes and parse back.
 */
import type { InlineKeyboard } from 'grammy';
import { describe, expect, it } from 'vitest';
import { parseButton } from '../../bot/callback-data';
import {
  escapeHtml,
  formatDuration,
  helpText,
  type Rendered,
  renderFarm,
  renderLeaderboard,
  renderLeaderboardUnavailable,
  renderPlantMenu,
  renderScreen,
} from '../../bot/render';
import type { LeaderboardView } from '../../store/leaderboard';
import type { FarmSnapshot, MainMenuScreen } from '../../workflows/contract';
import {
  type ActionEvent,
  type ActiveEvent,
  CROP_IDS,
  CROPS,
  type FarmState,
  type MarketFactors,
  type MarketState,
  MAX_PLOTS,
  MAX_SELL_QUANTITY,
  NEUTRAL_WORLD,
  type PlotState,
  sellPrice,
  type WorldState,
} from '../../game';

/** The farm's clock in these snapshots: 1970-01-12, nowhere near the wall clock. */
const AS_OF = 1_000_000_000;
const HOUR = 60 * 60 * 1000;

const growing = (id: number, cropId: (typeof CROP_IDS)[number], readyAtMs: number): PlotState => ({
  id,
  crop: { cropId, plantedAtMs: AS_OF - HOUR, readyAtMs },
});

/** Level 3 (35 XP of the 60 that level 4 needs), 120 coins, one plot in each state. */
function farm(overrides: Partial<FarmState> = {}): FarmState {
  return {
    timeScale: 1,
    createdAtMs: AS_OF - 2 * HOUR,
    coins: 120,
    xp: 35,
    plots: [
      { id: 0, crop: null },
      growing(1, 'wheat', AS_OF - 1_000),
      growing(2, 'corn', AS_OF + 250_000),
      growing(3, 'carrot', AS_OF), // ready exactly now
    ],
    inventory: {},
    lastDailyBonusAtMs: null,
    ...overrides,
  };
}

const snapshot = (state: FarmState = farm(), asOfMs = AS_OF): FarmSnapshot => ({
  userHash: 'abcdefghijklmnop',
  farm: state,
  readyCrops: [],
  asOfMs,
});

const factorsOf = (factor: number): MarketFactors =>
  Object.fromEntries(CROP_IDS.map((id) => [id, factor])) as MarketFactors;

/** A world the schedules wrote: a market (null: none yet) and the events running now. */
function marketWorld(
  market: Pick<MarketState, 'factors' | 'previousFactors'> | null,
  events: ActiveEvent[] = [],
): WorldState {
  return { ...NEUTRAL_WORLD, market: market && { tick: 12, ...market }, events };
}

const fair = (endsAtMs: number): ActiveEvent => ({
  id: 'harvest-fair',
  name: 'Friday harvest fair',
  effect: { saleMultiplier: 2 },
  startedAtMs: AS_OF - HOUR,
  endsAtMs,
});

const pumpkinWeek = (endsAtMs: number): ActiveEvent => ({
  id: 'pumpkin-week',
  name: 'Pumpkin week',
  effect: { saleMultiplier: 1.5, crops: ['pumpkin'] },
  startedAtMs: AS_OF - HOUR,
  endsAtMs,
});

const buttons = (keyboard: InlineKeyboard) =>
  keyboard.inline_keyboard.map((row) =>
    row.map((b) => [b.text, 'callback_data' in b ? b.callback_data : undefined]),
  );
const allButtons = (rendered: Rendered) => buttons(rendered.keyboard).flat();
const lines = (rendered: Rendered) => rendered.text.split('\n');

/** Telegram HTML: only the tags the bot writes, and every `&` starts an entity. */
function expectSafeHtml(text: string) {
  const withoutTags = text.replace(/<\/?(b|code)>/g, '');
  expect(withoutTags).not.toMatch(/[<>]/);
  expect(withoutTags.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
}

describe('the farm screen', () => {
  it('shows each plot as empty, ready or growing, with a button for each', () => {
    const rendered = renderFarm(snapshot(), NEUTRAL_WORLD);
    expect(rendered.text).toBe(
      [
        '🌻 <b>Your farm</b> · level 3 · 120 🪙 · 35/60 XP',
        '📈 Market: 🌾 4 → · 🥕 8 → · 🌽 20 →',
        '',
        '1. empty',
        '2. 🌾 wheat: ready!',
        '3. 🌽 corn: ready in 4m 10s',
        '4. 🥕 carrot: ready!',
      ].join('\n'),
    );
    expect(buttons(rendered.keyboard)).toEqual([
      [['🌱 Plant on 1', '1:c:0']],
      [['🧺 Harvest 🌾 on 2', '1:h:1']],
      [['⏳ 🌽 on 3: 4m 10s', '1:f']],
      [['🧺 Harvest 🥕 on 4', '1:h:3']],
      [
        ['➕ Plot (100 🪙)', '1:b'],
        ['🎁 Bonus (+70)', '1:d'],
      ],
      [
        ['🏆 Leaders', '1:l'],
        ['📊 Report', '1:r'],
        ['🔄 Refresh', '1:f'],
      ],
      [
        ['❓ Help', '1:q'],
        ['🔔 Notifications: on', '1:n:0'],
      ],
    ]);
  });

  it('offers to turn notifications off when on and on when off, as the farm has them', () => {
    const toggle = (state: FarmState) =>
      allButtons(renderFarm(snapshot(state), NEUTRAL_WORLD)).at(-1);
    expect(toggle(farm())).toEqual(['🔔 Notifications: on', '1:n:0']);
    expect(toggle(farm({ preferences: { notifications: false, showName: true } }))).toEqual([
      '🔕 Notifications: off',
      '1:n:1',
    ]);
    expect(toggle(farm({ preferences: { notifications: true, showName: false } }))).toEqual([
      '🔔 Notifications: on',
      '1:n:0',
    ]);
  });

  it('computes countdowns from the snapshot time, not the wall clock', () => {
    const state = farm();
    const later = renderFarm(snapshot(state, AS_OF + 240_000), NEUTRAL_WORLD);
    expect(lines(later)).toContain('3. 🌽 corn: ready in 10s');
    expect(allButtons(later)).toContainEqual(['⏳ 🌽 on 3: 10s', '1:f']);

    const ripe = renderFarm(snapshot(state, AS_OF + 250_000), NEUTRAL_WORLD);
    expect(lines(ripe)).toContain('3. 🌽 corn: ready!');
    expect(allButtons(ripe)).toContainEqual(['🧺 Harvest 🌽 on 3', '1:h:2']);

    const earlier = renderFarm(snapshot(state, AS_OF - 2_000), NEUTRAL_WORLD);
    expect(lines(earlier)).toContain('2. 🌾 wheat: ready in 1s');
    expect(lines(earlier)).toContain('4. 🥕 carrot: ready in 2s');
  });

  it('offers the daily bonus only once its period has passed, and says when it comes', () => {
    // Claimed an hour ago at time scale 1: the next bonus is 23 h away.
    const claimed = farm({ lastDailyBonusAtMs: AS_OF - HOUR });
    const waiting = renderFarm(snapshot(claimed), NEUTRAL_WORLD);
    expect(allButtons(waiting).map(([, data]) => data)).not.toContain('1:d');
    expect(lines(waiting).slice(-2)).toEqual(['', '🎁 Next daily bonus in 23h.']);

    const almost = renderFarm(snapshot(claimed, AS_OF + 23 * HOUR - 1), NEUTRAL_WORLD);
    expect(allButtons(almost).map(([, data]) => data)).not.toContain('1:d');
    expect(lines(almost).at(-1)).toBe('🎁 Next daily bonus in 1s.');

    const due = renderFarm(snapshot(claimed, AS_OF + 23 * HOUR), NEUTRAL_WORLD);
    expect(allButtons(due)).toContainEqual(['🎁 Bonus (+70)', '1:d']);
    expect(due.text).not.toContain('Next daily bonus');

    // A fast farm (time scale 0.001) waits 86.4 s, not a day; 56.4 s left reads 57 s (rounded up).
    const fast = farm({ timeScale: 0.001, lastDailyBonusAtMs: AS_OF - 30_000 });
    expect(lines(renderFarm(snapshot(fast), NEUTRAL_WORLD)).at(-1)).toBe(
      '🎁 Next daily bonus in 57s.',
    );
  });

  it('shows the market: each crop’s unit price with its trend since the previous tick', () => {
    // Level 3: wheat, carrot and corn are unlocked; pumpkins are shown because the barn has some.
    const state = farm({ inventory: { wheat: 3, carrot: 0, pumpkin: 2 } });
    const world = marketWorld({
      factors: { wheat: 1.25, carrot: 0.9, corn: 1, pumpkin: 1.1, strawberry: 2 },
      previousFactors: { wheat: 1, carrot: 1, corn: 1, pumpkin: 1.1, strawberry: 1 },
    });
    const rendered = renderFarm(snapshot(state), world);
    // 4 × 1.25 = 5 (was 4), 8 × 0.9 = 7.2 → 7 (was 8), corn 20 as before, 60 × 1.1 = 66 as before.
    expect(lines(rendered)[1]).toBe('📈 Market: 🌾 5 ↑ · 🥕 7 ↓ · 🌽 20 → · 🎃 66 →');
    expect(rendered.text).not.toContain('🍓');
    expect(lines(rendered)[2]).toBe('');

    // Before the market's second tick there is no previous price: no move.
    const firstTick = marketWorld({ factors: world.market!.factors, previousFactors: null });
    expect(lines(renderFarm(snapshot(state), firstTick))[1]).toBe(
      '📈 Market: 🌾 5 → · 🥕 7 → · 🌽 20 → · 🎃 66 →',
    );
  });

  it('shows only what a new player can plant or sell, and every crop at the top level', () => {
    const newcomer = farm({ xp: 0 });
    expect(lines(renderFarm(snapshot(newcomer), NEUTRAL_WORLD))[1]).toBe('📈 Market: 🌾 4 →');
    const gifted = farm({ xp: 0, inventory: { strawberry: 1 } });
    expect(lines(renderFarm(snapshot(gifted), NEUTRAL_WORLD))[1]).toBe(
      '📈 Market: 🌾 4 → · 🍓 40 →',
    );
    const master = farm({ xp: 1_000_000 });
    expect(lines(renderFarm(snapshot(master), NEUTRAL_WORLD))[1]).toBe(
      '📈 Market: 🌾 4 → · 🥕 8 → · 🌽 20 → · 🎃 60 → · 🍓 40 →',
    );
  });

  it('prices each sell button at the unit price shown, and the button carries that price', () => {
    const state = farm({ inventory: { wheat: 3, carrot: 0, pumpkin: 2 } });
    const world = marketWorld(
      {
        factors: { wheat: 1.25, carrot: 0.9, corn: 1, pumpkin: 1.1, strawberry: 2 },
        previousFactors: { wheat: 1, carrot: 1, corn: 1, pumpkin: 1.1, strawberry: 1 },
      },
      [fair(AS_OF + HOUR), pumpkinWeek(AS_OF + 3 * 24 * HOUR)],
    );
    const rendered = renderFarm(snapshot(state), world);
    // Wheat 5 × 2 (fair) = 10; pumpkins 66 × 2 (fair) × 1.5 (pumpkin week) = 198.
    expect(lines(rendered)[1]).toBe('📈 Market: 🌾 10 ↑ · 🥕 14 ↓ · 🌽 40 → · 🎃 198 →');
    expect(allButtons(rendered)).toContainEqual(['💰 Sell 3 wheat (30 🪙)', '1:s:wheat:3:10']);
    expect(allButtons(rendered)).toContainEqual([
      '💰 Sell 2 pumpkins (396 🪙)',
      '1:s:pumpkin:2:198',
    ]);
    expect(allButtons(rendered).some(([text]) => text?.includes('carrot'))).toBe(false);
    for (const [, data] of allButtons(rendered).filter(([text]) => text?.startsWith('💰'))) {
      const press = parseButton(data);
      expect(press?.kind).toBe('sell');
      if (press?.kind === 'sell') expect(press.unitPrice).toBe(sellPrice(press.cropId, world));
    }
  });

  it('shows the events running now: name, what they do, time left by the farm’s clock', () => {
    const world = marketWorld(null, [
      fair(AS_OF + HOUR + 20 * 60_000),
      pumpkinWeek(AS_OF + 6 * 24 * HOUR + 23 * HOUR),
    ]);
    const rendered = renderFarm(snapshot(), world);
    expect(lines(rendered).slice(1, 5)).toEqual([
      '📈 Market: 🌾 8 → · 🥕 16 → · 🌽 40 →',
      '🎪 <b>Friday harvest fair</b>: sale prices ×2 · 1h 20m left',
      '🎪 <b>Pumpkin week</b>: pumpkins ×1.5 · 6d 23h left',
      '',
    ]);
    // Ten minutes later by the farm's clock (the wall clock plays no part).
    expect(lines(renderFarm(snapshot(farm(), AS_OF + 10 * 60_000), world))[2]).toBe(
      '🎪 <b>Friday harvest fair</b>: sale prices ×2 · 1h 10m left',
    );
    // Past its end but not yet restored (a worker was down): it still counts, and says so.
    expect(lines(renderFarm(snapshot(farm(), AS_OF + 2 * HOUR), world))[2]).toBe(
      '🎪 <b>Friday harvest fair</b>: sale prices ×2 · ending',
    );
  });

  it('says which crops an event applies to, and its multiplier as a player reads it', () => {
    const event = (saleMultiplier: number, crops?: string[]) =>
      ({
        id: 'x',
        name: 'X',
        effect: crops ? { saleMultiplier, crops } : { saleMultiplier },
        startedAtMs: AS_OF,
        endsAtMs: AS_OF + 60_000,
      }) as ActiveEvent;
    const line = (e: ActiveEvent) => lines(renderFarm(snapshot(), marketWorld(null, [e])))[2];
    expect(line(event(3, ['wheat', 'corn']))).toBe('🎪 <b>X</b>: wheat and corn ×3 · 1m left');
    expect(line(event(0.75, ['carrot', 'corn', 'strawberry']))).toBe(
      '🎪 <b>X</b>: carrots, corn and strawberries ×0.75 · 1m left',
    );
    expect(line(event(1.333))).toBe('🎪 <b>X</b>: sale prices ×1.33 · 1m left');
    expect(line(event(2, ['banana']))).toBe('🎪 <b>X</b>: no crops · 1m left');
  });

  it('still shows the first version’s event fields', () => {
    const state = farm({ inventory: { wheat: 3 } });
    const world: WorldState = { marketMultiplier: 1.5, eventMultiplier: 2, eventName: 'Old Fair' };
    const rendered = renderFarm(snapshot(state), world);
    // 4 × 1.5 × 2 = 12 a unit; the event doubles the bonus too (70 at level 3).
    expect(lines(rendered).slice(1, 3)).toEqual([
      '📈 Market: 🌾 12 → · 🥕 24 → · 🌽 60 →',
      '🎪 <b>Old Fair</b>: sale prices and bonus ×2',
    ]);
    expect(allButtons(rendered)).toContainEqual(['💰 Sell 3 wheat (36 🪙)', '1:s:wheat:3:12']);
    expect(allButtons(rendered)).toContainEqual(['🎁 Bonus (+140)', '1:d']);
  });

  it('offers another plot at its price until the farm has the maximum', () => {
    const plots = (n: number) => Array.from({ length: n }, (_, id) => ({ id, crop: null }));
    expect(
      allButtons(renderFarm(snapshot(farm({ plots: plots(5) })), NEUTRAL_WORLD)),
    ).toContainEqual(['➕ Plot (150 🪙)', '1:b']);
    const full = renderFarm(snapshot(farm({ plots: plots(MAX_PLOTS) })), NEUTRAL_WORLD);
    expect(allButtons(full).map(([, data]) => data)).not.toContain('1:b');
    expect(lines(full)).toContain(`${MAX_PLOTS}. empty`);
  });

  it('escapes event names, which come from outside the code', () => {
    const name = '<a href="x">Fair</a> & <b>co</b>';
    const world: WorldState = {
      ...marketWorld(null, [{ ...fair(AS_OF + HOUR), name }]),
      eventMultiplier: 2,
      eventName: name,
    };
    const rendered = renderFarm(snapshot(), world);
    const escaped = '&lt;a href="x"&gt;Fair&lt;/a&gt; &amp; &lt;b&gt;co&lt;/b&gt;';
    expect(lines(rendered).slice(2, 4)).toEqual([
      `🎪 <b>${escaped}</b>: sale prices ×2 · 1h left`,
      `🎪 <b>${escaped}</b>: sale prices and bonus ×2`,
    ]);
    expectSafeHtml(rendered.text);
  });

  it('renders malformed events from world state without throwing', () => {
    const junk = [null, 7, { id: 'bare' }, { id: 'x', name: '', effect: null, endsAtMs: 'soon' }];
    const world = { ...NEUTRAL_WORLD, events: junk } as unknown as WorldState;
    const rendered = renderFarm(snapshot(), world);
    expect(lines(rendered).slice(2, 4)).toEqual([
      '🎪 <b>bare</b>: sale prices ×1',
      '🎪 <b>x</b>: sale prices ×1',
    ]);
    expectSafeHtml(rendered.text);
  });
});

describe('screens of the per-message workflows', () => {
  const state = farm();
  const read = { snapshot: snapshot(state), world: NEUTRAL_WORLD };
  const plain = renderFarm(read.snapshot, read.world).text;

  it('a farm screen is the farm with nothing above it', () => {
    const rendered = renderScreen({ kind: 'farm', ...read });
    expect(rendered.text).toBe(plain);
    expect(buttons(rendered.keyboard)).toEqual(
      buttons(renderFarm(read.snapshot, read.world).keyboard),
    );
  });

  const done: [ActionEvent, string][] = [
    [
      { type: 'planted', plotId: 2, cropId: 'corn', coinsSpent: 30, readyAtMs: AS_OF + 900_000 },
      '🌱 Planted corn on plot 3: ready in 15m.',
    ],
    [
      { type: 'harvested', plotId: 1, cropId: 'wheat', quantity: 3, xpGained: 2, levelUp: false },
      '🧺 Harvested 3 wheat (+2 XP).',
    ],
    [
      { type: 'harvested', plotId: 1, cropId: 'wheat', quantity: 3, xpGained: 2, levelUp: true },
      '🧺 Harvested 3 wheat (+2 XP). 🎉 Level 3!',
    ],
    [
      { type: 'sold', cropId: 'carrot', quantity: 1, coinsEarned: 8, unitPrice: 8 },
      '💰 Sold 1 carrot for 8 🪙.',
    ],
    [
      { type: 'sold', cropId: 'wheat', quantity: 3, coinsEarned: 15, unitPrice: 5 },
      '💰 Sold 3 wheat for 15 🪙.',
    ],
    [{ type: 'plotBought', plotId: 4, coinsSpent: 100 }, '➕ Bought plot 5 for 100 🪙.'],
    [{ type: 'dailyBonusClaimed', coinsEarned: 70 }, '🎁 Daily bonus: +70 🪙.'],
  ];
  it.each(done)('a done action (%j) is told above the farm', (event, notice) => {
    const rendered = renderScreen({ kind: 'actionDone', event, ...read });
    expect(rendered.text).toBe(`${notice}\n\n${plain}`);
  });

  it('a refusal is told above the farm, escaped', () => {
    const screen: MainMenuScreen = {
      kind: 'actionRefused',
      reason: 'Plot <9> is not yours & never was.',
      ...read,
    };
    const rendered = renderScreen(screen);
    expect(rendered.text).toBe(`⚠️ Plot &lt;9&gt; is not yours &amp; never was.\n\n${plain}`);
    expectSafeHtml(rendered.text);
    expect(buttons(rendered.keyboard)).toEqual(
      buttons(renderFarm(read.snapshot, read.world).keyboard),
    );
  });
});

describe('a sale refused because the price changed', () => {
  it('says the new price above the fresh farm, whose buttons carry the new prices', () => {
    // The screen showed wheat at 4, two ticks ago; it was 5 a tick ago and is 6 now: the farm
    // refused, and the fresh screen comes with the world the farm priced with.
    const state = farm({ inventory: { wheat: 3, corn: 2 } });
    const world = marketWorld({
      factors: { wheat: 1.5, carrot: 1, corn: 1.3, pumpkin: 1, strawberry: 1 },
      previousFactors: { wheat: 1.2, carrot: 1, corn: 1.2, pumpkin: 1, strawberry: 1 },
    });
    const rendered = renderScreen({
      kind: 'actionRefused',
      reason: 'Price changed: now 6 🪙 each.',
      snapshot: snapshot(state),
      world,
    });
    expect(lines(rendered).slice(0, 4)).toEqual([
      '⚠️ Price changed: now 6 🪙 each.',
      '',
      '🌻 <b>Your farm</b> · level 3 · 120 🪙 · 35/60 XP',
      '📈 Market: 🌾 6 ↑ · 🥕 8 → · 🌽 26 ↑',
    ]);
    const sells = allButtons(rendered).filter(([text]) => text?.startsWith('💰'));
    expect(sells).toEqual([
      ['💰 Sell 3 wheat (18 🪙)', '1:s:wheat:3:6'],
      ['💰 Sell 2 corn (52 🪙)', '1:s:corn:2:26'],
    ]);
  });
});

describe('the plant menu', () => {
  it('lists the crops the level unlocks, with price and scaled grow time', () => {
    const rendered = renderPlantMenu(snapshot(), 0);
    expect(rendered.text).toBe('🌱 What to plant on plot 1? You have 120 🪙.');
    expect(buttons(rendered.keyboard)).toEqual([
      [['🌾 Wheat: 5 🪙, 2m', '1:p:0:wheat']],
      [['🥕 Carrot: 12 🪙, 5m', '1:p:0:carrot']],
      [['🌽 Corn: 30 🪙, 15m', '1:p:0:corn']],
      [['« Back', '1:f']],
    ]);
  });

  it('a new player sees wheat only; a fast farm shows seconds', () => {
    const rendered = renderPlantMenu(snapshot(farm({ xp: 0, timeScale: 0.01 })), 11);
    expect(rendered.text).toBe('🌱 What to plant on plot 12? You have 120 🪙.');
    expect(buttons(rendered.keyboard)).toEqual([
      [['🌾 Wheat: 5 🪙, 2s', '1:p:11:wheat']],
      [['« Back', '1:f']],
    ]);
  });
});

describe('help', () => {
  it('gives the support code in <code>', () => {
    const text = helpText('abcdefghijklmnop');
    expect(text).toContain('Your support code: <code>abcdefghijklmnop</code>');
    expect(text.startsWith('<b>farmflow</b>:')).toBe(true);
    expect(text).toContain('/farm shows your farm, /help this message.');
    expectSafeHtml(text);
  });

  it('explains the market, the price rule and the calendar’s events', () => {
    const text = helpText('abcdefghijklmnop');
    expect(text).toContain('📈 Prices move with the market');
    expect(text).toContain('A sale pays the price on its button');
    expect(text).toContain(
      '🎪 Events raise prices while they run: Friday harvest fair (sale prices ×2), ' +
        'Pumpkin week (pumpkins ×1.5).',
    );
  });
});

describe('HTML escaping and durations', () => {
  it('escapes &, < and > (the ampersand first, so nothing is escaped twice)', () => {
    expect(escapeHtml('a < b && c > d')).toBe('a &lt; b &amp;&amp; c &gt; d');
    expect(escapeHtml('&lt;')).toBe('&amp;lt;');
    expect(escapeHtml('plain "quotes" stay')).toBe('plain "quotes" stay');
  });

  it.each([
    [0, '1s'],
    [999, '1s'],
    [1_001, '2s'],
    [59_000, '59s'],
    [60_000, '1m'],
    [61_000, '1m 1s'],
    [250_000, '4m 10s'],
    [HOUR, '1h'],
    [HOUR + 5 * 60_000, '1h 5m'],
    [23 * HOUR + 59 * 60_000, '23h 59m'],
    [24 * HOUR, '1d'],
    [25 * HOUR, '1d 1h'],
    [7 * 24 * HOUR, '7d'],
  ])('%d ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

/** Ann leads; the viewer (Bob, 3rd) and a player who hides their name follow. */
function board(overrides: Partial<LeaderboardView['you']> = {}): LeaderboardView {
  return {
    top: [
      { rank: 1, name: 'Ann', xp: 1_000 },
      { rank: 2, name: 'Farmer #7', xp: 312 },
      { rank: 3, name: 'Bob', xp: 35, viewer: true },
    ],
    you: { rank: 3, xp: 35, total: 1_234, displayName: 'Bob', farmerNumber: 12, ...overrides },
  };
}

describe('the leaderboard', () => {
  it('lists rank, name, level and XP, marks the player, and says where they stand', () => {
    const rendered = renderLeaderboard(board());
    expect(rendered.text).toBe(
      [
        '🏆 <b>Leaderboard</b>',
        '',
        '1. Ann · level 14 · 1,000 XP',
        '2. Farmer #7 · level 8 · 312 XP',
        '<b>3. Bob · level 3 · 35 XP</b> ← you',
        '',
        'You: #3 of 1,234, 35 XP',
      ].join('\n'),
    );
    expect(buttons(rendered.keyboard)).toEqual([
      [['🙈 Hide my name', '1:v:0']],
      [['« Back to the farm', '1:f']],
    ]);
  });

  it('gives a player outside the top their place with thousands separators', () => {
    const view: LeaderboardView = {
      top: board().top.slice(0, 2),
      you: { rank: 4_242, xp: 3, total: 1_000_000, displayName: null, farmerNumber: 99 },
    };
    const rendered = renderLeaderboard(view);
    expect(lines(rendered).at(-1)).toBe('You: #4,242 of 1,000,000, 3 XP');
    // Hidden in Redis: the button offers to show it.
    expect(allButtons(rendered)[0]).toEqual(['🙂 Show my name', '1:v:1']);
  });

  it('escapes names, which are the players’ own text', () => {
    const view = board({ displayName: '<b>Bob</b> & co' });
    view.top[0] = { rank: 1, name: '<a href="x">Ann</a>', xp: 1_000 };
    view.top[2] = { rank: 3, name: '<b>Bob</b> & co', xp: 35, viewer: true };
    const rendered = renderLeaderboard(view);
    expectSafeHtml(rendered.text);
    expect(rendered.text).toContain('1. &lt;a href="x"&gt;Ann&lt;/a&gt; · level 14');
    expect(rendered.text).toContain('&lt;b&gt;Bob&lt;/b&gt; &amp; co');
  });

  it('after "hide my name", shows the player as "Farmer #n" at once, from the farm', () => {
    // Redis still has the name: the farm's publish has not landed yet.
    const rendered = renderLeaderboard(board(), { showName: false, displayName: null });
    expect(lines(rendered)[0]).toBe('🙈 Your name is hidden: others see you as Farmer #12.');
    expect(rendered.text).toContain('<b>3. Farmer #12 · level 3 · 35 XP</b> ← you');
    expect(rendered.text).not.toContain('Bob');
    expect(allButtons(rendered)[0]).toEqual(['🙂 Show my name', '1:v:1']);
  });

  it('after "show my name", shows the name back', () => {
    const hidden = board({ displayName: null });
    hidden.top[2] = { rank: 3, name: 'Farmer #12', xp: 35, viewer: true };
    const rendered = renderLeaderboard(hidden, { showName: true, displayName: 'Bob' });
    expect(lines(rendered)[0]).toBe('🙂 Others see you as Bob.');
    expect(rendered.text).toContain('<b>3. Bob · level 3 · 35 XP</b> ← you');
    expect(allButtons(rendered)[0]).toEqual(['🙈 Hide my name', '1:v:0']);
  });

  it('says so when nobody is on the board yet, or the player is not', () => {
    const rendered = renderLeaderboard({
      top: [],
      you: { rank: null, xp: null, total: 0, displayName: null, farmerNumber: null },
    });
    expect(rendered.text).toContain('Nobody has earned XP yet.');
    expect(lines(rendered).at(-1)).toMatch(/^You are not on the board yet/);
  });

  it('offers a retry when Redis could not be read', () => {
    const rendered = renderLeaderboardUnavailable();
    expect(rendered.text).toMatch(/can't be read right now/);
    expect(buttons(rendered.keyboard)).toEqual([
      [['🔄 Try again', '1:l']],
      [['« Back to the farm', '1:f']],
    ]);
  });
});

describe('callback data of every keyboard', () => {
  /** Every plot state, every crop in the barn at the largest sellable amount, the last plot. */
  const fullest: FarmState = farm({
    xp: 1_000_000,
    plots: Array.from({ length: MAX_PLOTS }, (_, id) =>
      id % 3 === 0
        ? { id, crop: null }
        : growing(id, CROP_IDS[id % CROP_IDS.length]!, AS_OF + (id % 3 === 1 ? -1 : HOUR)),
    ),
    inventory: Object.fromEntries(CROP_IDS.map((id) => [id, MAX_SELL_QUANTITY])),
  });
  const world: WorldState = {
    marketMultiplier: 100,
    eventMultiplier: 100,
    eventName: 'Max',
    market: { tick: 9, factors: factorsOf(2), previousFactors: factorsOf(1.9) },
    events: [{ ...fair(AS_OF + HOUR), effect: { saleMultiplier: 1e9 } }],
  };
  const keyboards: [string, Rendered][] = [
    ['farm', renderFarm(snapshot(fullest), world)],
    [
      'farm with the bonus waiting',
      renderFarm(snapshot({ ...fullest, lastDailyBonusAtMs: AS_OF }), world),
    ],
    ['plant menu, last plot', renderPlantMenu(snapshot(fullest), MAX_PLOTS - 1)],
    ['leaderboard', renderLeaderboard(board(), { showName: false, displayName: null })],
    ['leaderboard unavailable', renderLeaderboardUnavailable()],
  ];

  it.each(keyboards)('%s: within 64 bytes, and each parses back to a press', (_name, rendered) => {
    const data = allButtons(rendered).map(([, d]) => d);
    expect(data.length).toBeGreaterThan(1);
    for (const d of data) {
      expect(typeof d).toBe('string');
      expect(Buffer.byteLength(d!, 'utf8')).toBeLessThanOrEqual(64);
      expect(parseButton(d), d).not.toBeNull();
    }
  });

  it('the fullest farm has a button for every crop in the barn and every plot', () => {
    const data = allButtons(keyboards[0]![1]).map(([, d]) => d);
    // Every multiplier at its cap: 100 × 100 × 2 × 100 times the crop's base price.
    for (const cropId of CROP_IDS) {
      const unitPrice = CROPS[cropId].salePrice * 2_000_000;
      expect(data).toContain(`1:s:${cropId}:${MAX_SELL_QUANTITY}:${unitPrice}`);
    }
    expect(data.filter((d) => d?.startsWith('1:c:'))).toHaveLength(MAX_PLOTS / 3);
    expect(data.filter((d) => d?.startsWith('1:h:'))).toHaveLength(MAX_PLOTS / 3);
  });
});
