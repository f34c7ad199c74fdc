/**
 * Screens as Telegram shows them: HTML text plus an inline keyboard. Pure functions of the data a
 * per-message workflow returned, so a redelivered update renders exactly the same reply.
 */
import { InlineKeyboard } from 'grammy';
import type { FarmSnapshot, MainMenuScreen } from '../workflows/contract';
import type { LeaderboardView } from '../store/leaderboard';
import {
  previousSellPrice,
  type ActionEvent,
  type ActiveEvent,
  availableCrops,
  canClaimDailyBonus,
  CROP_IDS,
  CROPS,
  cropQuantityText,
  type CropId,
  dailyBonusCoins,
  growDurationMs,
  isCropId,
  leaderboardName,
  levelForXp,
  MAX_PLOTS,
  nextDailyBonusAtMs,
  nextPlotPrice,
  plotNumber,
  preferencesOf,
  sanitizeMultiplier,
  sellPrice,
  type WorldState,
  xpForLevel,
} from '../game';
import { CALENDAR_EVENTS } from '../schedules/events';
import { encodeButton } from './callback-data';

export interface Rendered {
  text: string;
  keyboard: InlineKeyboard;
}

export const escapeHtml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** "4m 10s", "1h 5m", "12s", "6d 23h": what a player needs to know, not milliseconds. */
export function formatDuration(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m ${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

/** "×2", "×1.5", "×0.75": a multiplier as a player reads it. */
const times = (multiplier: number) => `×${Number(sanitizeMultiplier(multiplier).toFixed(2))}`;

/** A crop's price now, and how it moved since the market's previous tick (events as now). */
function quote(cropId: CropId, world: WorldState): string {
  const now = sellPrice(cropId, world);
  const before = previousSellPrice(cropId, world);
  const trend = now > before ? '↑' : now < before ? '↓' : '→';
  return `${CROPS[cropId].emoji} ${now} ${trend}`;
}

/**
 * The market line: today's unit price of every crop the player can plant or has in the barn, with
 * its trend against the previous tick.
 */
function marketLine(farm: FarmSnapshot['farm'], world: WorldState): string {
  const unlocked = new Set(availableCrops(levelForXp(farm.xp)).map((crop) => crop.id));
  const shown = CROP_IDS.filter((id) => unlocked.has(id) || (farm.inventory[id] ?? 0) > 0);
  return `📈 Market: ${shown.map((id) => quote(id, world)).join(' · ')}`;
}

/** "sale prices ×2", "pumpkins ×1.5", "wheat and corn ×3". */
function effectText(event: ActiveEvent): string {
  const crops = event.effect?.crops;
  const multiplier = times(event.effect?.saleMultiplier);
  if (!Array.isArray(crops)) return `sale prices ${multiplier}`;
  const names = crops.filter(isCropId).map((id) => CROPS[id].plural);
  if (names.length === 0) return 'no crops';
  const list =
    names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names.at(-1)!}`;
  return `${list} ${multiplier}`;
}

/** One line per calendar event running now: its name, what it does and how long it still runs. */
function eventLines(world: WorldState, asOfMs: number): string[] {
  const events = Array.isArray(world.events) ? world.events : [];
  const lines = events
    .filter((event) => typeof event === 'object' && event !== null)
    .map((event) => {
      const name = escapeHtml(String(event.name || event.id));
      const left = event.endsAtMs - asOfMs;
      const when = !Number.isFinite(left)
        ? ''
        : left > 0
          ? ` · ${formatDuration(left)} left`
          : ' · ending';
      return `🎪 <b>${name}</b>: ${effectText(event)}${when}`;
    });
  // The first version's event field: every sale price and the daily bonus.
  if (world.eventName) {
    lines.push(
      `🎪 <b>${escapeHtml(world.eventName)}</b>: sale prices and bonus ${times(world.eventMultiplier)}`,
    );
  }
  return lines;
}

function describeEvent(event: ActionEvent, snapshot: FarmSnapshot): string {
  switch (event.type) {
    case 'planted':
      return `🌱 Planted ${CROPS[event.cropId].name.toLowerCase()} on plot ${plotNumber(event.plotId)}: ready in ${formatDuration(event.readyAtMs - snapshot.asOfMs)}.`;
    case 'harvested':
      return (
        `🧺 Harvested ${cropQuantityText(event.cropId, event.quantity)} (+${event.xpGained} XP).` +
        (event.levelUp ? ` 🎉 Level ${levelForXp(snapshot.farm.xp)}!` : '')
      );
    case 'sold':
      return `💰 Sold ${cropQuantityText(event.cropId, event.quantity)} for ${event.coinsEarned} 🪙.`;
    case 'plotBought':
      return `➕ Bought plot ${plotNumber(event.plotId)} for ${event.coinsSpent} 🪙.`;
    case 'dailyBonusClaimed':
      return `🎁 Daily bonus: +${event.coinsEarned} 🪙.`;
    case 'preferencesChanged':
      return (
        `${event.preferences.notifications ? '🔔 Notifications on' : '🔕 Notifications off'}; ` +
        `${event.preferences.showName ? 'your name is shown on the leaderboard' : 'your name is hidden on the leaderboard'}.`
      );
  }
}

export function renderFarm(snapshot: FarmSnapshot, world: WorldState, notice?: string): Rendered {
  const { farm, asOfMs } = snapshot;
  const level = levelForXp(farm.xp);
  const lines: string[] = [];
  if (notice) lines.push(notice, '');
  lines.push(
    `🌻 <b>Your farm</b> · level ${level} · ${farm.coins} 🪙 · ${farm.xp}/${xpForLevel(level + 1)} XP`,
  );
  lines.push(marketLine(farm, world), ...eventLines(world, asOfMs), '');

  const keyboard = new InlineKeyboard();
  for (const plot of farm.plots) {
    const n = plotNumber(plot.id);
    if (!plot.crop) {
      lines.push(`${n}. empty`);
      keyboard
        .text(`🌱 Plant on ${n}`, encodeButton({ kind: 'choosePlot', plotId: plot.id }))
        .row();
    } else if (plot.crop.readyAtMs <= asOfMs) {
      const crop = CROPS[plot.crop.cropId];
      lines.push(`${n}. ${crop.emoji} ${crop.name.toLowerCase()}: ready!`);
      keyboard
        .text(
          `🧺 Harvest ${crop.emoji} on ${n}`,
          encodeButton({ kind: 'harvest', plotId: plot.id }),
        )
        .row();
    } else {
      const crop = CROPS[plot.crop.cropId];
      const left = formatDuration(plot.crop.readyAtMs - asOfMs);
      lines.push(`${n}. ${crop.emoji} ${crop.name.toLowerCase()}: ready in ${left}`);
      keyboard.text(`⏳ ${crop.emoji} on ${n}: ${left}`, encodeButton({ kind: 'farm' })).row();
    }
  }

  const stock = (Object.entries(farm.inventory) as [CropId, number][]).filter(([, n]) => n > 0);
  if (stock.length) {
    lines.push(
      '',
      `🏚 Barn: ${stock.map(([id, n]) => `${CROPS[id].emoji} ${cropQuantityText(id, n)}`).join(', ')}`,
    );
    for (const [cropId, quantity] of stock) {
      // The button carries the unit price behind the total it shows: the farm pays it or
      // refuses with the new one.
      const unitPrice = sellPrice(cropId, world);
      keyboard
        .text(
          `💰 Sell ${cropQuantityText(cropId, quantity)} (${quantity * unitPrice} 🪙)`,
          encodeButton({ kind: 'sell', cropId, quantity, unitPrice }),
        )
        .row();
    }
  }

  if (farm.plots.length < MAX_PLOTS) {
    keyboard.text(
      `➕ Plot (${nextPlotPrice(farm.plots.length)} 🪙)`,
      encodeButton({ kind: 'buyPlot' }),
    );
  }
  if (canClaimDailyBonus(farm, asOfMs)) {
    keyboard.text(
      `🎁 Bonus (+${dailyBonusCoins(farm, world)})`,
      encodeButton({ kind: 'dailyBonus' }),
    );
  } else {
    const next = nextDailyBonusAtMs(farm, asOfMs);
    if (next) lines.push('', `🎁 Next daily bonus in ${formatDuration(next - asOfMs)}.`);
  }
  const { notifications } = preferencesOf(farm);
  keyboard
    .row()
    .text('🏆 Leaders', encodeButton({ kind: 'leaderboard' }))
    .text('📊 Report', encodeButton({ kind: 'report' }))
    .text('🔄 Refresh', encodeButton({ kind: 'farm' }))
    .row()
    .text('❓ Help', encodeButton({ kind: 'help' }))
    .text(
      notifications ? '🔔 Notifications: on' : '🔕 Notifications: off',
      encodeButton({ kind: 'notifications', on: !notifications }),
    );
  return { text: lines.join('\n'), keyboard };
}

/** How many players the 🏆 screen lists. */
export const LEADERBOARD_SIZE = 10;

/** "1,000": counts as players read them. */
const count = (n: number) => n.toLocaleString('en-US');

/**
 * The player's own name as the farm has it, which Redis learns a moment later: after a press of
 * "hide my name" the board shows the change at once.
 */
export interface OwnName {
  showName: boolean;
  displayName: string | null;
}

/** The farm's side of the player's name, from the snapshot an action answered. */
export function ownNameOf(snapshot: FarmSnapshot): OwnName {
  const { showName } = preferencesOf(snapshot.farm);
  return { showName, displayName: showName ? (snapshot.profile?.displayName ?? null) : null };
}

/**
 * The 🏆 screen: the top players by XP (ties to whoever reached the XP first) under the names they
 * show or "Farmer #n", and the player's own place. Names are the players' own text: escaped. No
 * support code, no id: only what players may see of each other.
 */
export function renderLeaderboard(view: LeaderboardView, own?: OwnName): Rendered {
  const { you } = view;
  const shown = own ? own.displayName : you.displayName;
  const showName = own ? own.showName : you.displayName !== null;
  const yourName = leaderboardName(shown, you.farmerNumber ?? you.rank ?? 0);

  const lines: string[] = [];
  if (own) {
    lines.push(
      showName
        ? `🙂 Others see you as ${escapeHtml(yourName)}.`
        : `🙈 Your name is hidden: others see you as ${escapeHtml(yourName)}.`,
      '',
    );
  }
  lines.push('🏆 <b>Leaderboard</b>', '');
  if (view.top.length === 0) lines.push('Nobody has earned XP yet. Be the first!');
  for (const entry of view.top) {
    const name = escapeHtml(entry.viewer ? yourName : entry.name);
    const line = `${entry.rank}. ${name} · level ${levelForXp(entry.xp)} · ${count(entry.xp)} XP`;
    lines.push(entry.viewer ? `<b>${line}</b> ← you` : line);
  }
  lines.push(
    '',
    you.rank === null
      ? 'You are not on the board yet: it shows you within seconds of your next move.'
      : `You: #${count(you.rank)} of ${count(you.total)}, ${count(you.xp ?? 0)} XP`,
  );

  const keyboard = new InlineKeyboard()
    .text(
      showName ? '🙈 Hide my name' : '🙂 Show my name',
      encodeButton({ kind: 'showName', on: !showName }),
    )
    .row()
    .text('« Back to the farm', encodeButton({ kind: 'farm' }));
  return { text: lines.join('\n'), keyboard };
}

/** Redis did not answer: the board cannot be read, the farm is fine. */
export function renderLeaderboardUnavailable(): Rendered {
  return {
    text: "🏆 The leaderboard can't be read right now. Please try again in a moment.",
    keyboard: new InlineKeyboard()
      .text('🔄 Try again', encodeButton({ kind: 'leaderboard' }))
      .row()
      .text('« Back to the farm', encodeButton({ kind: 'farm' })),
  };
}

export function renderPlantMenu(snapshot: FarmSnapshot, plotId: number): Rendered {
  const level = levelForXp(snapshot.farm.xp);
  const keyboard = new InlineKeyboard();
  for (const crop of availableCrops(level)) {
    const grow = formatDuration(growDurationMs(crop.id, snapshot.farm.timeScale));
    keyboard
      .text(
        `${crop.emoji} ${crop.name}: ${crop.seedPrice} 🪙, ${grow}`,
        encodeButton({ kind: 'plant', plotId, cropId: crop.id }),
      )
      .row();
  }
  keyboard.text('« Back', encodeButton({ kind: 'farm' }));
  return {
    text: `🌱 What to plant on plot ${plotNumber(plotId)}? You have ${snapshot.farm.coins} 🪙.`,
    keyboard,
  };
}

export function renderScreen(screen: MainMenuScreen): Rendered {
  switch (screen.kind) {
    case 'farm':
      return renderFarm(screen.snapshot, screen.world);
    case 'actionDone':
      return renderFarm(
        screen.snapshot,
        screen.world,
        describeEvent(screen.event, screen.snapshot),
      );
    case 'actionRefused':
      return renderFarm(screen.snapshot, screen.world, `⚠️ ${escapeHtml(screen.reason)}`);
  }
}

/** The calendar as a player reads it: "Friday harvest fair (sale prices ×2), …". */
const eventsForHelp = CALENDAR_EVENTS.map(
  (event) => `${escapeHtml(event.name)} (${effectText({ ...event, startedAtMs: 0, endsAtMs: 0 })})`,
).join(', ');

export function helpText(userHash: string): string {
  return [
    '<b>farmflow</b>: plant crops, wait until they are ready, harvest, sell, grow your farm.',
    '',
    '🌱 Tap an empty plot to plant (seeds cost coins).',
    '🧺 Harvest when a crop is ready, 💰 sell the harvest, ➕ buy more plots.',
    '🎁 Claim a bonus every day. Higher levels unlock better crops.',
    '',
    '📈 Prices move with the market, a small step at a time: ↑ ↓ → show the last move. A sale pays ' +
      'the price on its button; if the market has moved on too far since, you see the new price first.',
    `🎪 Events raise prices while they run: ${eventsForHelp}.`,
    '',
    '/farm shows your farm, /help this message.',
    '',
    `Your support code: <code>${userHash}</code>`,
    'Tell it to support if something goes wrong: it finds everything you did, and nothing else about you.',
  ].join('\n');
}

export const WORKING_TEXT = '⏳ Working on it…';
export const SLOW_DOWN_TEXT = '🐢 Easy there! One thing at a time, please.';
export const STALE_BUTTON_TEXT = 'That button is no longer valid. Here is your farm.';
