/**
 * The game rules as pure functions over plain, JSON-serialisable state.
 *
 * This module is imported by Temporal workflow code, which is replayed and must be
 * deterministic: no I/O, no clock, no randomness, no Node built-ins. The current time always
 * comes in as `nowMs`. Nothing here throws on bad input from a player; rejections are returned
 * as player-facing sentences.
 */
import { CROP_IDS, CROPS, cropQuantityText, isCropId, type Crop, type CropId } from './crops.js';
import { type ActiveEvent, eventSaleMultiplier } from './events.js';
import { marketFactor, type MarketState } from './market.js';

export interface GrowingCrop {
  cropId: CropId;
  plantedAtMs: number;
  readyAtMs: number;
}

export interface PlotState {
  id: number;
  crop: GrowingCrop | null;
}

export interface FarmState {
  /** Fixed at farm creation, so a farm's timers never jump when the config changes. */
  timeScale: number;
  createdAtMs: number;
  coins: number;
  xp: number;
  /** Ids are 0..n-1, in order. */
  plots: PlotState[];
  /** Harvested, unsold units. A crop with none may be absent. */
  inventory: Partial<Record<CropId, number>>;
  lastDailyBonusAtMs: number | null;
  /** The player's choices; absent on farms from before them (see `preferencesOf`). */
  preferences?: FarmPreferences;
}

/** What the player chose about messages the farm sends and how the leaderboard shows them. */
export interface FarmPreferences {
  /** Crop-ready, event and reward messages. */
  notifications: boolean;
  /** The Telegram first name on the leaderboard; otherwise "Farmer #n". */
  showName: boolean;
}

export const DEFAULT_PREFERENCES: FarmPreferences = Object.freeze({
  notifications: true,
  showName: true,
});

/** A farm's preferences, defaults filled in. */
export function preferencesOf(state: FarmState): FarmPreferences {
  return { ...DEFAULT_PREFERENCES, ...state.preferences };
}

/**
 * What the schedules write and every message reads. A world no tick has written is neutral.
 * `marketMultiplier`, `eventMultiplier` and `eventName` are the first version's fields: farms'
 * histories hold them, so they keep their meaning (all crops, and the daily bonus for the event
 * multiplier); the schedules write `market` and `events`.
 */
export interface WorldState {
  marketMultiplier: number;
  eventMultiplier: number;
  eventName: string | null;
  /** The market tick's prices; absent or null: every factor 1. */
  market?: MarketState | null;
  /** Calendar events running now; they combine as game/events.ts says. */
  events?: ActiveEvent[];
}

export const NEUTRAL_WORLD: WorldState = Object.freeze({
  marketMultiplier: 1,
  eventMultiplier: 1,
  eventName: null,
});

export const STARTING_COINS = 50;
export const STARTING_PLOTS = 4;
export const MAX_PLOTS = 12;
export const DAILY_BONUS_PERIOD_SECONDS = 24 * 60 * 60;
export const DAILY_BONUS_BASE_COINS = 50;
export const DAILY_BONUS_COINS_PER_LEVEL = 10;
export const FIRST_EXTRA_PLOT_PRICE = 100;
export const PLOT_PRICE_GROWTH = 1.5;
export const MAX_SELL_QUANTITY = 10_000;
/**
 * Upper bound on a sanitised multiplier. A typo in a world-state update should not be able to
 * mint unbounded coins or push amounts past exact integer arithmetic.
 */
export const MAX_MULTIPLIER = 100;

/** Plots are stored from 0; players count them from 1, and every message shows that number. */
export function plotNumber(plotId: number): number {
  return plotId + 1;
}

export function newFarm(nowMs: number, timeScale: number): FarmState {
  return {
    timeScale: sanitizeTimeScale(timeScale),
    createdAtMs: nowMs,
    coins: STARTING_COINS,
    xp: 0,
    plots: Array.from({ length: STARTING_PLOTS }, (_, id) => ({ id, crop: null })),
    inventory: {},
    lastDailyBonusAtMs: null,
  };
}

/** At least 1 ms, so that a tiny scale never yields a timer that is already due when set. */
export function scaledMs(seconds: number, timeScale: number): number {
  const safeSeconds = Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
  return Math.max(1, Math.round(safeSeconds * 1000 * sanitizeTimeScale(timeScale)));
}

export function growDurationMs(cropId: CropId, timeScale: number): number {
  return scaledMs(CROPS[cropId].growSeconds, timeScale);
}

/** XP needed to reach `level`: 0, 10, 30, 60, 100, … (each level costs 10 more than the last). */
export function xpForLevel(level: number): number {
  if (!Number.isFinite(level) || level <= 1) return 0;
  const whole = Math.floor(level);
  return 5 * whole * (whole - 1);
}

export function levelForXp(xp: number): number {
  if (!Number.isFinite(xp) || xp <= 0) return 1;
  // Inverse of xpForLevel, then nudged to absorb floating-point error at exact thresholds.
  let level = Math.max(1, Math.floor((1 + Math.sqrt(1 + (4 * xp) / 5)) / 2));
  while (xpForLevel(level + 1) <= xp) level += 1;
  while (level > 1 && xpForLevel(level) > xp) level -= 1;
  return level;
}

/** The price of the plot that would take a farm from `plotCount` plots to one more. */
export function nextPlotPrice(plotCount: number): number {
  const extra = Number.isFinite(plotCount)
    ? Math.max(0, Math.floor(plotCount) - STARTING_PLOTS)
    : 0;
  // Rounded to tens so prices read well in a button label.
  return Math.round((FIRST_EXTRA_PLOT_PRICE * PLOT_PRICE_GROWTH ** extra) / 10) * 10;
}

/** Non-finite or non-positive → 1 (neutral); capped at MAX_MULTIPLIER. */
export function sanitizeMultiplier(value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return 1;
  return Math.min(value, MAX_MULTIPLIER);
}

/** Per unit; always a whole number of at least 1 coin. */
export function sellPrice(cropId: CropId, world: WorldState): number {
  const multiplier =
    sanitizeMultiplier(world.marketMultiplier) *
    sanitizeMultiplier(world.eventMultiplier) *
    marketFactor(world.market?.factors, cropId) *
    sanitizeMultiplier(eventSaleMultiplier(world.events, cropId));
  return Math.max(1, Math.round(CROPS[cropId].salePrice * multiplier));
}

/**
 * The unit prices a sale quoted on a screen may pay: today's, and the one of the market tick
 * before (a screen at most one tick old), both with the events running now. A quote matching
 * neither is refused: a player is never paid a price no screen of theirs showed.
 */
export function acceptedSalePrices(cropId: CropId, world: WorldState): number[] {
  const now = sellPrice(cropId, world);
  const before = previousSellPrice(cropId, world);
  return before === now ? [now] : [now, before];
}

/**
 * The unit price at the market tick before, with the events running now; today's price when the
 * market has no tick before.
 */
export function previousSellPrice(cropId: CropId, world: WorldState): number {
  const previousFactors = world.market?.previousFactors;
  if (!world.market || !previousFactors) return sellPrice(cropId, world);
  return sellPrice(cropId, { ...world, market: { ...world.market, factors: previousFactors } });
}

export function dailyBonusCoins(state: FarmState, world: WorldState): number {
  const base = DAILY_BONUS_BASE_COINS + DAILY_BONUS_COINS_PER_LEVEL * (levelForXp(state.xp) - 1);
  return Math.max(1, Math.round(base * sanitizeMultiplier(world.eventMultiplier)));
}

/**
 * When the daily bonus can next be claimed; null when it has never been claimed, or, if
 * `nowMs` is given, whenever it is claimable at `nowMs`.
 */
export function nextDailyBonusAtMs(state: FarmState, nowMs?: number): number | null {
  if (state.lastDailyBonusAtMs === null) return null;
  const next = state.lastDailyBonusAtMs + scaledMs(DAILY_BONUS_PERIOD_SECONDS, state.timeScale);
  return nowMs !== undefined && nowMs >= next ? null : next;
}

export function canClaimDailyBonus(state: FarmState, nowMs: number): boolean {
  return nextDailyBonusAtMs(state, nowMs) === null;
}

export function isReady(crop: GrowingCrop, nowMs: number): boolean {
  return nowMs >= crop.readyAtMs;
}

/** Crops a player at `level` may plant, in catalogue order. */
export function availableCrops(level: number): Crop[] {
  return CROP_IDS.map((id) => CROPS[id]).filter((crop) => crop.unlockLevel <= level);
}

export type FarmAction =
  | { type: 'plant'; plotId: number; cropId: CropId }
  | { type: 'harvest'; plotId: number }
  | {
      type: 'sell';
      cropId: CropId;
      quantity: number;
      /** The unit price the player's screen showed; absent: today's price (older clients). */
      unitPrice?: number;
    }
  | { type: 'buyPlot' }
  | { type: 'claimDailyBonus' }
  /** Changes the preferences it names and leaves the others. */
  | { type: 'setPreferences'; notifications?: boolean; showName?: boolean };

export type ActionEvent =
  | { type: 'planted'; plotId: number; cropId: CropId; coinsSpent: number; readyAtMs: number }
  | {
      type: 'harvested';
      plotId: number;
      cropId: CropId;
      quantity: number;
      xpGained: number;
      levelUp: boolean;
    }
  | { type: 'sold'; cropId: CropId; quantity: number; coinsEarned: number; unitPrice: number }
  | { type: 'plotBought'; plotId: number; coinsSpent: number }
  | { type: 'dailyBonusClaimed'; coinsEarned: number }
  | { type: 'preferencesChanged'; preferences: FarmPreferences };

export type ActionResult =
  { ok: true; state: FarmState; event: ActionEvent } | { ok: false; reason: string };

/** Pure: never mutates `state`; the returned state shares no objects with it. */
export function applyAction(
  state: FarmState,
  action: FarmAction,
  world: WorldState,
  nowMs: number,
): ActionResult {
  // Actions arrive from workflow payloads, so the static type is not a guarantee.
  const checked = validateAction(action);
  if ('reason' in checked) return reject(checked.reason);
  if (!Number.isFinite(nowMs)) {
    // A NaN timestamp stored in readyAtMs would leave a crop that never ripens.
    return reject('The game clock is unavailable; please try again.');
  }
  switch (checked.type) {
    case 'plant':
      return plant(state, checked.plotId, checked.cropId, nowMs);
    case 'harvest':
      return harvest(state, checked.plotId, nowMs);
    case 'sell':
      return sell(state, checked.cropId, checked.quantity, world, checked.unitPrice);
    case 'buyPlot':
      return buyPlot(state);
    case 'claimDailyBonus':
      return claimDailyBonus(state, world, nowMs);
    case 'setPreferences':
      return setPreferences(state, checked);
  }
}

function setPreferences(
  state: FarmState,
  changes: Extract<FarmAction, { type: 'setPreferences' }>,
): ActionResult {
  const preferences = { ...preferencesOf(state) };
  if (changes.notifications !== undefined) preferences.notifications = changes.notifications;
  if (changes.showName !== undefined) preferences.showName = changes.showName;
  const next = cloneFarm(state);
  next.preferences = preferences;
  return accept(next, { type: 'preferencesChanged', preferences: { ...preferences } });
}

function plant(state: FarmState, plotId: number, cropId: CropId, nowMs: number): ActionResult {
  const plot = findPlot(state, plotId);
  if (!plot) return reject(`No such plot ${plotNumber(plotId)}.`);
  if (plot.crop) {
    return reject(`Plot ${plotNumber(plotId)} is already growing ${lowerName(plot.crop.cropId)}.`);
  }
  const crop = CROPS[cropId];
  if (levelForXp(state.xp) < crop.unlockLevel) {
    return reject(`${crop.name} unlocks at level ${crop.unlockLevel}.`);
  }
  if (state.coins < crop.seedPrice) {
    return reject(
      `Not enough coins: ${lowerName(cropId)} seeds cost ${crop.seedPrice}, you have ${state.coins}.`,
    );
  }
  const readyAtMs = nowMs + growDurationMs(cropId, state.timeScale);
  const next = cloneFarm(state);
  next.coins -= crop.seedPrice;
  next.plots = next.plots.map((p) =>
    p.id === plotId ? { id: p.id, crop: { cropId, plantedAtMs: nowMs, readyAtMs } } : p,
  );
  return accept(next, { type: 'planted', plotId, cropId, coinsSpent: crop.seedPrice, readyAtMs });
}

function harvest(state: FarmState, plotId: number, nowMs: number): ActionResult {
  const plot = findPlot(state, plotId);
  if (!plot) return reject(`No such plot ${plotNumber(plotId)}.`);
  if (!plot.crop) return reject(`Nothing to harvest on plot ${plotNumber(plotId)}.`);
  const { cropId } = plot.crop;
  const crop = CROPS[cropId];
  if (!isReady(plot.crop, nowMs))
    return reject(`${crop.name} on plot ${plotNumber(plotId)} is not ready yet.`);
  const next = cloneFarm(state);
  next.plots = next.plots.map((p) => (p.id === plotId ? { id: p.id, crop: null } : p));
  next.inventory[cropId] = (next.inventory[cropId] ?? 0) + crop.yield;
  next.xp += crop.xp;
  return accept(next, {
    type: 'harvested',
    plotId,
    cropId,
    quantity: crop.yield,
    xpGained: crop.xp,
    levelUp: levelForXp(next.xp) > levelForXp(state.xp),
  });
}

function sell(
  state: FarmState,
  cropId: CropId,
  quantity: number,
  world: WorldState,
  quotedUnitPrice: number | undefined,
): ActionResult {
  const held = state.inventory[cropId] ?? 0;
  if (held <= 0) return reject(`You have no ${CROPS[cropId].plural} to sell.`);
  if (quantity > held) return reject(`You have only ${cropQuantityText(cropId, held)} to sell.`);
  const currentPrice = sellPrice(cropId, world);
  if (
    quotedUnitPrice !== undefined &&
    !acceptedSalePrices(cropId, world).includes(quotedUnitPrice)
  ) {
    return reject(`Price changed: now ${currentPrice} 🪙 each.`);
  }
  const unitPrice = quotedUnitPrice ?? currentPrice;
  const coinsEarned = unitPrice * quantity;
  const next = cloneFarm(state);
  const left = held - quantity;
  if (left > 0) next.inventory[cropId] = left;
  else delete next.inventory[cropId];
  next.coins += coinsEarned;
  return accept(next, { type: 'sold', cropId, quantity, coinsEarned, unitPrice });
}

function buyPlot(state: FarmState): ActionResult {
  if (state.plots.length >= MAX_PLOTS) {
    return reject(`You already have the maximum of ${MAX_PLOTS} plots.`);
  }
  const price = nextPlotPrice(state.plots.length);
  if (state.coins < price) {
    return reject(`Not enough coins: a new plot costs ${price}, you have ${state.coins}.`);
  }
  const next = cloneFarm(state);
  const plotId = next.plots.length;
  next.plots.push({ id: plotId, crop: null });
  next.coins -= price;
  return accept(next, { type: 'plotBought', plotId, coinsSpent: price });
}

function claimDailyBonus(state: FarmState, world: WorldState, nowMs: number): ActionResult {
  if (!canClaimDailyBonus(state, nowMs)) {
    return reject('Daily bonus already claimed; come back later.');
  }
  const coinsEarned = dailyBonusCoins(state, world);
  const next = cloneFarm(state);
  next.coins += coinsEarned;
  next.lastDailyBonusAtMs = nowMs;
  return accept(next, { type: 'dailyBonusClaimed', coinsEarned });
}

export interface Grant {
  /** The caller's idempotency key; these rules do not look at it. */
  grantId: string;
  issuedAtMs: number;
  coins: number;
  xp: number;
  reason: string;
}

/**
 * Adds a grant's coins and XP. Amounts are truncated to whole numbers, non-finite amounts count
 * as 0, and a negative grant (a correction) never takes a balance below 0.
 */
export function applyGrant(state: FarmState, grant: Grant): FarmState {
  const next = cloneFarm(state);
  next.coins = Math.max(0, next.coins + wholeAmount(grant.coins));
  next.xp = Math.max(0, next.xp + wholeAmount(grant.xp));
  return next;
}

const ACTION_TYPES: readonly FarmAction['type'][] = [
  'plant',
  'harvest',
  'sell',
  'buyPlot',
  'claimDailyBonus',
  'setPreferences',
];

/**
 * Shape check of untrusted input (a button payload, a workflow update argument). Returns a fresh
 * action holding only the known fields, or a player-facing reason. Whether the plot exists or the
 * player can afford it is `applyAction`'s business.
 */
export function validateAction(action: unknown): FarmAction | { reason: string } {
  if (typeof action !== 'object' || action === null || Array.isArray(action)) {
    return { reason: 'That action is not recognised.' };
  }
  const raw = action as Record<string, unknown>;
  const type = raw.type;
  if (typeof type !== 'string' || !(ACTION_TYPES as readonly string[]).includes(type)) {
    return { reason: 'That action is not recognised.' };
  }
  switch (type as FarmAction['type']) {
    case 'plant': {
      const plotId = checkPlotId(raw.plotId);
      if (typeof plotId !== 'number') return plotId;
      const cropId = checkCropId(raw.cropId);
      if (typeof cropId !== 'string') return cropId;
      return { type: 'plant', plotId, cropId };
    }
    case 'harvest': {
      const plotId = checkPlotId(raw.plotId);
      if (typeof plotId !== 'number') return plotId;
      return { type: 'harvest', plotId };
    }
    case 'sell': {
      const cropId = checkCropId(raw.cropId);
      if (typeof cropId !== 'string') return cropId;
      const quantity = raw.quantity;
      if (
        !Number.isInteger(quantity) ||
        (quantity as number) < 1 ||
        (quantity as number) > MAX_SELL_QUANTITY
      ) {
        return { reason: `Quantity must be a whole number from 1 to ${MAX_SELL_QUANTITY}.` };
      }
      const unitPrice = raw.unitPrice;
      if (unitPrice === undefined) return { type: 'sell', cropId, quantity: quantity as number };
      if (!Number.isSafeInteger(unitPrice) || (unitPrice as number) < 1) {
        return { reason: 'The price must be a whole number of coins.' };
      }
      return { type: 'sell', cropId, quantity: quantity as number, unitPrice: unitPrice as number };
    }
    case 'buyPlot':
      return { type: 'buyPlot' };
    case 'claimDailyBonus':
      return { type: 'claimDailyBonus' };
    case 'setPreferences': {
      const changes: Extract<FarmAction, { type: 'setPreferences' }> = { type: 'setPreferences' };
      for (const name of ['notifications', 'showName'] as const) {
        const value = raw[name];
        if (value === undefined) continue;
        if (typeof value !== 'boolean') return { reason: 'A preference is either on or off.' };
        changes[name] = value;
      }
      if (changes.notifications === undefined && changes.showName === undefined) {
        return { reason: 'Choose a preference to change.' };
      }
      return changes;
    }
  }
}

function checkPlotId(value: unknown): number | { reason: string } {
  // Range is left to applyAction so that "No such plot 9." names the plot the player chose.
  return Number.isSafeInteger(value)
    ? (value as number)
    : { reason: 'Plot number must be a whole number.' };
}

function checkCropId(value: unknown): CropId | { reason: string } {
  return isCropId(value)
    ? value
    : { reason: `Unknown crop. Choose one of: ${CROP_IDS.join(', ')}.` };
}

function findPlot(state: FarmState, plotId: number): PlotState | undefined {
  return state.plots.find((p) => p.id === plotId);
}

function lowerName(cropId: CropId): string {
  return CROPS[cropId].name.toLowerCase();
}

function sanitizeTimeScale(timeScale: number): number {
  return Number.isFinite(timeScale) && timeScale > 0 ? timeScale : 1;
}

function wholeAmount(value: number): number {
  return Number.isFinite(value) ? Math.trunc(value) : 0;
}

/**
 * A deep copy, so that neither the caller's old state nor the new one can change the other.
 * Hand-written rather than structuredClone to stay within what the workflow sandbox guarantees.
 */
function cloneFarm(state: FarmState): FarmState {
  return {
    ...state,
    plots: state.plots.map((p) => ({ id: p.id, crop: p.crop ? { ...p.crop } : null })),
    inventory: { ...state.inventory },
    ...(state.preferences ? { preferences: { ...state.preferences } } : {}),
  };
}

function accept(state: FarmState, event: ActionEvent): ActionResult {
  return { ok: true, state, event };
}

function reject(reason: string): ActionResult {
  return { ok: false, reason };
}
