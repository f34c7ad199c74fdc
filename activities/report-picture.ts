/**
 * Draws a player's farm report as a PNG for a Telegram photo. Pure in what it draws: the same
 * input gives the same bytes, and every date comes from the input, never from the clock.
 */
import { createCanvas, GlobalFonts, type SKRSContext2D } from '@napi-rs/canvas';
import {
  type CoinDay,
  COIN_RECORD_DAYS,
  CROP_IDS,
  CROPS,
  isCropId,
  isReady,
  levelForXp,
  plotNumber,
  xpForLevel,
  type CropId,
  type FarmState,
  type GrowingCrop,
} from '../game';
import type { FarmReportData } from '../workflows/contract';

/** Well inside Telegram's photo limits (w + h ≤ 10000, ratio ≤ 20, ≤ 10 MB). */
export const REPORT_PICTURE: Readonly<{ width: number; height: number }> = Object.freeze({
  width: 1200,
  height: 800,
});

/**
 * A name of our own rather than "DejaVu Sans": a machine with DejaVu installed (Debian's
 * fonts-dejavu-core) would otherwise answer to the same name, and a failed registration would
 * go unnoticed there while the slim image drew its text with whatever it falls back to.
 */
export const REPORT_FONT_FAMILY = 'Farmflow DejaVu Sans';

const CROP_COLOURS: Readonly<Record<CropId, string>> = Object.freeze({
  wheat: '#D9A531',
  carrot: '#EF7B2A',
  corn: '#7DB343',
  pumpkin: '#A9561E',
  strawberry: '#E23D58',
});
/** A crop id the catalogue no longer knows, from an old farm's payload. */
const UNKNOWN_CROP_COLOUR = '#8A8A8A';

const INK = '#2B2A26';
const MUTED = '#6F6A5E';
const FAINT = '#B3AC9C';
const PAGE = '#F6F1E3';
const PANEL = '#FFFFFF';
const PANEL_EDGE = '#E2D9C3';
const HEADER = '#2F5D3A';
const HEADER_TEXT = '#FFFFFF';
const HEADER_MUTED = '#CFE0D2';
const GOLD = '#E2A829';
const GOLD_DARK = '#B9821A';
const READY = '#2E7D32';
const SOIL = '#EDE3D0';
const SOIL_EDGE = '#C9B99A';

const REAL_DAY_MS = 24 * 60 * 60 * 1000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const { width: WIDTH, height: HEIGHT } = REPORT_PICTURE;
const MARGIN = 32;
const PLOTS_PANEL: Box = { x: MARGIN, y: 136, w: 736, h: 360 };
const STOCK_PANEL: Box = { x: 788, y: 136, w: WIDTH - MARGIN - 788, h: 360 };
const CHART_PANEL: Box = { x: MARGIN, y: 512, w: WIDTH - 2 * MARGIN, h: 252 };

let fontsRegistered = false;

/** Once per process; the fonts come from the dejavu-fonts-ttf package, never from the system. */
function registerFonts(): void {
  if (fontsRegistered) return;
  for (const file of ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf']) {
    const path = require.resolve(`dejavu-fonts-ttf/ttf/${file}`);
    if (!GlobalFonts.registerFromPath(path, REPORT_FONT_FAMILY)) {
      throw new Error(`Could not register the report font ${path}`);
    }
  }
  fontsRegistered = true;
}

export async function drawFarmReport(data: FarmReportData): Promise<Buffer> {
  registerFonts();
  const canvas = createCanvas(WIDTH, HEIGHT);
  const ctx = canvas.getContext('2d');
  // The default follows the host's language, and with it the shaping of the same text.
  ctx.lang = 'en';
  ctx.fillStyle = PAGE;
  ctx.fillRect(0, 0, WIDTH, HEIGHT);

  drawHeader(ctx, data);
  drawPlots(ctx, data.farm.plots, data.asOfMs);
  drawStock(ctx, data.farm.inventory);
  drawCoinChart(ctx, data.coinDays.slice(-COIN_RECORD_DAYS));
  drawFooter(ctx, data.userHash);

  return canvas.encode('png');
}

function drawHeader(ctx: SKRSContext2D, data: FarmReportData): void {
  ctx.fillStyle = HEADER;
  ctx.fillRect(0, 0, WIDTH, 116);

  const title = data.displayName?.trim() || 'Your farm';
  ctx.fillStyle = HEADER_TEXT;
  ctx.font = font(40, true);
  ctx.fillText(fitText(ctx, title, 700), MARGIN + 8, 60);
  ctx.fillStyle = HEADER_MUTED;
  ctx.font = font(18);
  ctx.fillText(`Farm report · ${dateTimeText(data.asOfMs)}`, MARGIN + 8, 94);

  const right = WIDTH - MARGIN - 8;
  ctx.textAlign = 'right';
  ctx.fillStyle = HEADER_TEXT;
  ctx.font = font(30, true);
  const coins = `${groupDigits(data.farm.coins)} coins`;
  ctx.fillText(coins, right, 56);
  drawCoin(ctx, right - ctx.measureText(coins).width - 22, 45, 13);

  const xp = finiteOr(data.farm.xp, 0);
  const level = levelForXp(xp);
  const from = xpForLevel(level);
  const to = xpForLevel(level + 1);
  const left = 800;
  ctx.font = font(18);
  ctx.fillStyle = HEADER_MUTED;
  ctx.fillText(`${groupDigits(xp)} / ${groupDigits(to)} XP`, right, 84);
  ctx.textAlign = 'left';
  ctx.fillStyle = HEADER_TEXT;
  ctx.font = font(18, true);
  ctx.fillText(`Level ${level}`, left, 84);
  drawBar(ctx, { x: left, y: 94, w: right - left, h: 10 }, (xp - from) / (to - from), {
    track: 'rgba(255, 255, 255, 0.22)',
    fill: '#F4D03F',
  });
}

function drawCoin(ctx: SKRSContext2D, x: number, y: number, r: number): void {
  ctx.beginPath();
  ctx.arc(x, y, r, 0, Math.PI * 2);
  ctx.fillStyle = GOLD;
  ctx.fill();
  ctx.lineWidth = 2;
  ctx.strokeStyle = GOLD_DARK;
  ctx.stroke();
  ctx.beginPath();
  ctx.arc(x, y, r * 0.55, 0, Math.PI * 2);
  ctx.stroke();
}

type PlotStatus =
  | { kind: 'empty' }
  | { kind: 'growing'; crop: GrowingCrop; fraction: number; leftMs: number }
  | { kind: 'ready'; crop: GrowingCrop };

function plotStatus(crop: GrowingCrop | null, asOfMs: number): PlotStatus {
  if (!crop) return { kind: 'empty' };
  if (isReady(crop, asOfMs)) return { kind: 'ready', crop };
  const total = crop.readyAtMs - crop.plantedAtMs;
  const fraction = total > 0 ? clamp01((asOfMs - crop.plantedAtMs) / total) : 0;
  return { kind: 'growing', crop, fraction, leftMs: crop.readyAtMs - asOfMs };
}

type TileDetail = 'full' | 'medium' | 'compact';

interface TileGrid {
  cols: number;
  tileW: number;
  tileH: number;
  gap: number;
  /** Plots drawn as tiles; the rest are counted in a line under them. */
  shown: number;
}

const MAX_TILE = { w: 260, h: 130 };
const MIN_TILE = { w: 30, h: 22 };
const MORE_LINE_HEIGHT = 24;
const TILE_ASPECT = 1.75;

/**
 * The columns that give every plot the most room in `area`, tiles capped at MAX_TILE; when even
 * MIN_TILE tiles do not fit them all, as many as fit, leaving room for the "+K more" line.
 */
function tileGrid(count: number, area: { w: number; h: number }): TileGrid {
  const gap = count > 30 ? 5 : 10;
  const fit = (cells: number) => {
    let best = { cols: 1, tileW: 0, tileH: 0, score: -1 };
    for (let cols = 1; cols <= cells; cols += 1) {
      const rows = Math.ceil(cells / cols);
      const tileW = Math.min(MAX_TILE.w, (area.w - (cols - 1) * gap) / cols);
      const tileH = Math.min(MAX_TILE.h, (area.h - (rows - 1) * gap) / rows);
      const score = Math.min(tileW / TILE_ASPECT, tileH);
      if (score > best.score) best = { cols, tileW, tileH, score };
    }
    return best;
  };
  const all = fit(Math.max(count, 1));
  if (all.tileW >= MIN_TILE.w && all.tileH >= MIN_TILE.h) return { ...all, gap, shown: count };
  const height = area.h - MORE_LINE_HEIGHT;
  const cols = Math.floor((area.w + gap) / (MIN_TILE.w + gap));
  const rows = Math.floor((height + gap) / (MIN_TILE.h + gap));
  const tileW = (area.w - (cols - 1) * gap) / cols;
  const tileH = (height - (rows - 1) * gap) / rows;
  return { cols, tileW, tileH, gap, shown: cols * rows };
}

function tileDetail(tileW: number, tileH: number): TileDetail {
  if (tileW >= 150 && tileH >= 84) return 'full';
  if (tileW >= 76 && tileH >= 44) return 'medium';
  return 'compact';
}

function drawPlots(ctx: SKRSContext2D, plots: FarmState['plots'], asOfMs: number): void {
  drawPanel(ctx, PLOTS_PANEL);
  const statuses = plots.map((plot) => ({ id: plot.id, status: plotStatus(plot.crop, asOfMs) }));
  const counts = { ready: 0, growing: 0, empty: 0 };
  for (const { status } of statuses) counts[status.kind] += 1;

  const left = PLOTS_PANEL.x + 20;
  const width = PLOTS_PANEL.w - 40;
  ctx.fillStyle = INK;
  ctx.font = font(22, true);
  ctx.fillText('Plots', left, PLOTS_PANEL.y + 34);
  ctx.textAlign = 'right';
  ctx.fillStyle = MUTED;
  ctx.font = font(15);
  const summary =
    plots.length === 0
      ? 'no plots'
      : `${countText(plots.length, 'plot')} · ${counts.ready} ready · ` +
        `${counts.growing} growing · ${counts.empty} empty`;
  ctx.fillText(summary, left + width, PLOTS_PANEL.y + 34);
  ctx.textAlign = 'left';

  const area: Box = { x: left, y: PLOTS_PANEL.y + 52, w: width, h: PLOTS_PANEL.h - 70 };
  if (plots.length === 0) {
    ctx.fillStyle = MUTED;
    ctx.font = font(18);
    ctx.fillText('This farm has no plots yet.', area.x, area.y + 30);
    return;
  }
  const grid = tileGrid(plots.length, area);
  const detail = tileDetail(grid.tileW, grid.tileH);
  const tileAt = (index: number): Box => ({
    x: area.x + (index % grid.cols) * (grid.tileW + grid.gap),
    y: area.y + Math.floor(index / grid.cols) * (grid.tileH + grid.gap),
    w: grid.tileW,
    h: grid.tileH,
  });
  statuses.slice(0, grid.shown).forEach(({ id, status }, index) => {
    drawTile(ctx, tileAt(index), plotNumber(id), status, detail);
  });
  const hidden = plots.length - grid.shown;
  if (hidden > 0) {
    ctx.fillStyle = MUTED;
    ctx.font = font(14);
    ctx.fillText(
      `+${groupDigits(hidden)} more ${hidden === 1 ? 'plot' : 'plots'} not shown`,
      area.x,
      area.y + area.h - 4,
    );
  }
}

function drawTile(
  ctx: SKRSContext2D,
  box: Box,
  number: number,
  status: PlotStatus,
  detail: TileDetail,
): void {
  const colour = status.kind === 'empty' ? SOIL_EDGE : cropColour(status.crop.cropId);
  const radius = Math.min(10, box.h / 4);
  ctx.beginPath();
  ctx.roundRect(box.x, box.y, box.w, box.h, radius);
  ctx.fillStyle =
    status.kind === 'empty' ? SOIL : tint(colour, status.kind === 'ready' ? 0.45 : 0.2);
  ctx.fill();
  ctx.lineWidth = status.kind === 'ready' ? 3 : 1;
  ctx.strokeStyle = status.kind === 'ready' ? READY : status.kind === 'empty' ? SOIL_EDGE : colour;
  ctx.setLineDash(status.kind === 'empty' ? [5, 4] : []);
  ctx.stroke();
  ctx.setLineDash([]);

  const fraction = status.kind === 'ready' ? 1 : status.kind === 'growing' ? status.fraction : 0;
  const name = status.kind === 'empty' ? 'Empty' : cropName(status.crop.cropId);
  if (detail === 'compact') {
    if (status.kind !== 'empty') {
      const bar = { x: box.x + 4, y: box.y + box.h - 8, w: box.w - 8, h: 4 };
      drawBar(ctx, bar, fraction, { track: 'rgba(0, 0, 0, 0.12)', fill: colour });
    }
    return;
  }

  const full = detail === 'full';
  const pad = full ? 10 : 7;
  const inner = box.w - 2 * pad;
  const barH = full ? 10 : 7;
  const bar = { x: box.x + pad, y: box.y + box.h - pad - barH, w: inner, h: barH };
  if (full) {
    ctx.fillStyle = MUTED;
    ctx.font = font(12);
    ctx.fillText(`Plot ${number}`, box.x + pad, box.y + pad + 10);
  }
  ctx.fillStyle = status.kind === 'empty' ? MUTED : INK;
  ctx.font = font(full ? 18 : 13, true);
  ctx.fillText(fitText(ctx, name, inner), box.x + pad, box.y + pad + (full ? 30 : 11));

  const statusText = tileStatusText(status, detail);
  ctx.font = font(full ? 13 : 11, status.kind === 'ready');
  ctx.fillStyle = status.kind === 'ready' ? READY : MUTED;
  const statusY = bar.y - (full ? 6 : 4);
  ctx.fillText(fitText(ctx, statusText, inner), box.x + pad, statusY);
  if (status.kind !== 'empty') {
    drawBar(ctx, bar, fraction, { track: 'rgba(0, 0, 0, 0.10)', fill: colour });
  }
}

function tileStatusText(status: PlotStatus, detail: TileDetail): string {
  switch (status.kind) {
    case 'empty':
      return detail === 'full' ? 'Ready to plant' : '';
    case 'ready':
      return detail === 'full' ? 'Ready to harvest' : 'Ready';
    case 'growing': {
      // Floored and capped, so "100%" never shows on a crop that is not ready yet.
      const percent = `${Math.min(99, Math.floor(status.fraction * 100))}%`;
      return detail === 'full' ? `${percent} · ${durationText(status.leftMs)} left` : percent;
    }
  }
}

function drawStock(ctx: SKRSContext2D, inventory: FarmState['inventory']): void {
  drawPanel(ctx, STOCK_PANEL);
  const left = STOCK_PANEL.x + 20;
  const right = STOCK_PANEL.x + STOCK_PANEL.w - 20;
  ctx.fillStyle = INK;
  ctx.font = font(22, true);
  ctx.fillText('Stock', left, STOCK_PANEL.y + 34);

  let total = 0;
  const rowH = 48;
  CROP_IDS.forEach((cropId, index) => {
    const count = Math.max(0, Math.floor(finiteOr(inventory[cropId], 0)));
    total += count;
    const top = STOCK_PANEL.y + 52 + index * rowH;
    const middle = top + rowH / 2;
    if (index > 0) {
      ctx.fillStyle = '#EFE9DA';
      ctx.fillRect(left, top, right - left, 1);
    }
    ctx.beginPath();
    ctx.roundRect(left, middle - 11, 22, 22, 5);
    ctx.fillStyle = CROP_COLOURS[cropId];
    ctx.fill();
    ctx.fillStyle = count > 0 ? INK : FAINT;
    ctx.font = font(18);
    ctx.fillText(CROPS[cropId].name, left + 36, middle + 6);
    ctx.textAlign = 'right';
    ctx.font = font(18, count > 0);
    ctx.fillText(groupDigits(count), right, middle + 6);
    ctx.textAlign = 'left';
  });

  const totalY = STOCK_PANEL.y + 52 + CROP_IDS.length * rowH + 34;
  ctx.fillStyle = '#D9D0BB';
  ctx.fillRect(left, totalY - 26, right - left, 2);
  ctx.fillStyle = MUTED;
  ctx.font = font(16);
  ctx.fillText(total > 0 ? 'Harvested, not yet sold' : 'Nothing in stock', left, totalY);
  ctx.textAlign = 'right';
  ctx.fillStyle = INK;
  ctx.font = font(18, true);
  ctx.fillText(groupDigits(total), right, totalY);
  ctx.textAlign = 'left';
}

function drawCoinChart(ctx: SKRSContext2D, days: CoinDay[]): void {
  const panel = CHART_PANEL;
  drawPanel(ctx, panel);
  const left = panel.x + 20;
  ctx.fillStyle = INK;
  ctx.font = font(22, true);
  ctx.fillText(
    days.length === 0 ? 'Coins' : `Coins, last ${countText(days.length, 'day')}`,
    left,
    panel.y + 34,
  );
  if (days.length === 0) {
    ctx.textAlign = 'center';
    ctx.fillStyle = MUTED;
    ctx.font = font(20);
    ctx.fillText('No coin record yet', panel.x + panel.w / 2, panel.y + panel.h / 2 + 16);
    ctx.textAlign = 'left';
    return;
  }

  const plot: Box = { x: panel.x + 104, y: panel.y + 62, w: panel.w - 104 - 28, h: 142 };
  const values = days.map((day) => Math.max(0, finiteOr(day.coins, 0)));
  const axis = niceAxis(Math.max(...values));

  ctx.font = font(13);
  ctx.textAlign = 'right';
  for (let tick = 0; tick <= axis.max; tick += axis.step) {
    const y = Math.round(plot.y + plot.h - (tick / axis.max) * plot.h) + 0.5;
    ctx.fillStyle = tick === 0 ? '#9C937E' : '#ECE6D8';
    ctx.fillRect(plot.x, y - 0.5, plot.w, tick === 0 ? 2 : 1);
    ctx.fillStyle = MUTED;
    ctx.fillText(compactNumber(tick), plot.x - 10, y + 5);
  }

  ctx.save();
  ctx.translate(panel.x + 30, plot.y + plot.h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.fillStyle = MUTED;
  ctx.font = font(14);
  ctx.fillText('coins at end of day', 0, 0);
  ctx.restore();

  // A farm at a faster time scale (npm start, tests) has shorter game days: name them by time.
  const spacing = days.length > 1 ? days[1]!.dayStartMs - days[0]!.dayStartMs : REAL_DAY_MS;
  const label = spacing < REAL_DAY_MS ? timeText : dayText;
  const slot = plot.w / days.length;
  const barW = Math.min(64, slot * 0.62);
  // Day labels are about 48 px wide: with narrow slots only every n-th day is named.
  const labelEvery = Math.ceil(56 / slot);
  ctx.textAlign = 'center';
  days.forEach((day, index) => {
    const value = values[index] ?? 0;
    const centre = plot.x + slot * (index + 0.5);
    const height = (value / axis.max) * plot.h;
    const today = index === days.length - 1;
    ctx.beginPath();
    ctx.roundRect(centre - barW / 2, plot.y + plot.h - height, barW, height, [4, 4, 0, 0]);
    ctx.fillStyle = today ? GOLD_DARK : GOLD;
    ctx.fill();

    if (slot >= 44) {
      ctx.fillStyle = INK;
      ctx.font = font(12, today);
      ctx.fillText(compactNumber(value), centre, plot.y + plot.h - height - 6);
    }
    if ((days.length - 1 - index) % labelEvery === 0) {
      ctx.fillStyle = today ? INK : MUTED;
      ctx.font = font(13, today);
      ctx.fillText(label(day.dayStartMs), centre, plot.y + plot.h + 20);
    }
  });
  ctx.fillStyle = MUTED;
  ctx.font = font(14);
  ctx.fillText(
    spacing < REAL_DAY_MS ? 'game day (its start, UTC)' : 'day (UTC)',
    plot.x + plot.w / 2,
    plot.y + plot.h + 40,
  );
  ctx.textAlign = 'left';
}

/** A top of at least `max` and a round step (1, 2 or 5 times a power of ten), at most 5 steps. */
export function niceAxis(max: number): { max: number; step: number } {
  const target = Number.isFinite(max) ? Math.max(max, 5) : 5;
  for (let power = 1; ; power *= 10) {
    for (const step of [power, 2 * power, 5 * power]) {
      const steps = Math.ceil(target / step);
      if (steps <= 5) return { max: steps * step, step };
    }
  }
}

function drawFooter(ctx: SKRSContext2D, userHash: string): void {
  ctx.fillStyle = MUTED;
  ctx.font = font(13);
  ctx.fillText(fitText(ctx, `Support code: ${userHash}`, 760), MARGIN + 4, HEIGHT - 14);
  ctx.textAlign = 'right';
  ctx.fillText('farmflow · times in UTC', WIDTH - MARGIN - 4, HEIGHT - 14);
  ctx.textAlign = 'left';
}

function drawPanel(ctx: SKRSContext2D, box: Box): void {
  ctx.beginPath();
  ctx.roundRect(box.x, box.y, box.w, box.h, 14);
  ctx.fillStyle = PANEL;
  ctx.fill();
  ctx.lineWidth = 1;
  ctx.strokeStyle = PANEL_EDGE;
  ctx.stroke();
}

function drawBar(
  ctx: SKRSContext2D,
  box: Box,
  fraction: number,
  colours: { track: string; fill: string },
): void {
  const radius = box.h / 2;
  ctx.beginPath();
  ctx.roundRect(box.x, box.y, box.w, box.h, radius);
  ctx.fillStyle = colours.track;
  ctx.fill();
  const filled = box.w * clamp01(fraction);
  if (filled <= 0) return;
  ctx.beginPath();
  ctx.roundRect(box.x, box.y, Math.max(filled, box.h), box.h, radius);
  ctx.fillStyle = colours.fill;
  ctx.fill();
}

function font(size: number, bold = false): string {
  return `${bold ? 'bold ' : ''}${size}px "${REPORT_FONT_FAMILY}"`;
}

/** `text`, cut with an ellipsis to fit `maxWidth` in the current font. */
function fitText(ctx: SKRSContext2D, text: string, maxWidth: number): string {
  if (ctx.measureText(text).width <= maxWidth) return text;
  // Whole code points, so a cut never splits a surrogate pair.
  const chars = Array.from(text);
  let low = 0;
  let high = chars.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (ctx.measureText(`${chars.slice(0, mid).join('')}…`).width <= maxWidth) low = mid;
    else high = mid - 1;
  }
  return `${chars.slice(0, low).join('').trimEnd()}…`;
}

function cropName(cropId: string): string {
  return isCropId(cropId) ? CROPS[cropId].name : cropId;
}

function cropColour(cropId: string): string {
  return isCropId(cropId) ? CROP_COLOURS[cropId] : UNKNOWN_CROP_COLOUR;
}

/** `hex` mixed with white: 0 is white, 1 is `hex`. */
function tint(hex: string, amount: number): string {
  const channel = (offset: number) => {
    const value = parseInt(hex.slice(offset, offset + 2), 16);
    return Math.round(255 - (255 - value) * amount);
  };
  return `rgb(${channel(1)}, ${channel(3)}, ${channel(5)})`;
}

function clamp01(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}

function finiteOr(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function countText(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** "12,345": written out rather than Intl, whose output follows the runtime's ICU data. */
function groupDigits(value: number): string {
  const rounded = Math.round(finiteOr(value, 0));
  const digits = String(Math.abs(rounded)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return rounded < 0 ? `-${digits}` : digits;
}

/** "950", "9,950", "12.5k", "3M": short enough for an axis tick or a bar label. */
function compactNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs < 10_000) return groupDigits(value);
  const [divisor, suffix] = abs < 999_950 ? [1_000, 'k'] : [1_000_000, 'M'];
  const scaled = Math.round((abs / divisor) * 10) / 10;
  const digits = Number.isInteger(scaled) ? groupDigits(scaled) : scaled.toFixed(1);
  return `${value < 0 ? '-' : ''}${digits}${suffix}`;
}

function dayText(ms: number): string {
  const date = new Date(finiteOr(ms, 0));
  return `${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()}`;
}

/** "14:05" (UTC). */
function timeText(ms: number): string {
  const date = new Date(finiteOr(ms, 0));
  return [date.getUTCHours(), date.getUTCMinutes()]
    .map((part) => String(part).padStart(2, '0'))
    .join(':');
}

function dateTimeText(ms: number): string {
  return `${dayText(ms)}, ${new Date(finiteOr(ms, 0)).getUTCFullYear()}, ${timeText(ms)} UTC`;
}

/** "45 s", "12 min", "3 h 20 min", "2 d 4 h": the time a crop still needs. */
function durationText(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`;
}
