/**
 * The farm report picture: a real PNG of the promised size for every shape of farm and history,
 * the same bytes for the same input, and pixels that change where (and only where) the content
 * does, so a drawing that silently drew nothing fails here.
 */
import { createCanvas, GlobalFonts, loadImage } from '@napi-rs/canvas';
import { describe, expect, it } from 'vitest';
import {
  drawFarmReport,
  niceAxis,
  REPORT_FONT_FAMILY,
  REPORT_PICTURE,
} from '../../activities/report-picture';
import {
  type CoinDay,
  COIN_RECORD_DAYS,
  CROP_IDS,
  newFarm,
  type FarmState,
  type PlotState,
} from '../../game';
import type { FarmReportData } from '../../workflows/contract';

const DAY_MS = 24 * 60 * 60 * 1000;
const AS_OF = Date.UTC(2025, 10, 28, 14, 5);
const { width: WIDTH, height: HEIGHT } = REPORT_PICTURE;

/** Where the layout puts each part, loosely, for checking where two pictures differ. */
const HEADER_BOTTOM = 0.15 * HEIGHT;
const CHART_TOP = 0.63 * HEIGHT;
const PLOTS_RIGHT = 0.65 * WIDTH;

function coinDays(count: number): CoinDay[] {
  return Array.from({ length: count }, (_, index) => ({
    dayStartMs: Date.UTC(2025, 10, 28 - (count - 1 - index)),
    coins: 200 + index * 137,
  }));
}

function plots(count: number, crop: (id: number) => PlotState['crop']): PlotState[] {
  return Array.from({ length: count }, (_, id) => ({ id, crop: crop(id) }));
}

/** Every kind of plot in turn: growing at a few stages, ready, empty. */
function mixedCrop(id: number): PlotState['crop'] {
  if (id % 4 === 3) return null;
  const cropId = CROP_IDS[id % CROP_IDS.length]!;
  const plantedAtMs = AS_OF - (id + 1) * 60_000;
  return { cropId, plantedAtMs, readyAtMs: plantedAtMs + (id % 3) * 5 * 60_000 };
}

function report(overrides: Partial<FarmReportData> = {}, farm: Partial<FarmState> = {}) {
  const data: FarmReportData = {
    userHash: 'u_3f9a1c2b7d4e5f60a1b2',
    displayName: 'Ann',
    asOfMs: AS_OF,
    farm: {
      ...newFarm(AS_OF - 30 * DAY_MS, 1),
      coins: 2_102,
      xp: 340,
      plots: plots(12, mixedCrop),
      inventory: { wheat: 12, corn: 3, strawberry: 1_234 },
      ...farm,
    },
    coinDays: coinDays(COIN_RECORD_DAYS),
    ...overrides,
  };
  return data;
}

/** The width and height a PNG's IHDR chunk declares, after checking the signature. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]));
  expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

async function pixels(png: Buffer): Promise<Uint8ClampedArray> {
  const image = await loadImage(png);
  expect([image.width, image.height]).toEqual([WIDTH, HEIGHT]);
  const ctx = createCanvas(WIDTH, HEIGHT).getContext('2d');
  ctx.drawImage(image, 0, 0);
  return ctx.getImageData(0, 0, WIDTH, HEIGHT).data;
}

interface Difference {
  count: number;
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** How many pixels differ between two pictures, and the box around them. */
async function difference(a: Buffer, b: Buffer): Promise<Difference> {
  const [pa, pb] = await Promise.all([pixels(a), pixels(b)]);
  const box = { count: 0, left: WIDTH, top: HEIGHT, right: -1, bottom: -1 };
  for (let i = 0; i < pa.length; i += 4) {
    if (pa[i] === pb[i] && pa[i + 1] === pb[i + 1] && pa[i + 2] === pb[i + 2]) continue;
    const x = (i / 4) % WIDTH;
    const y = Math.floor(i / 4 / WIDTH);
    box.count += 1;
    box.left = Math.min(box.left, x);
    box.right = Math.max(box.right, x);
    box.top = Math.min(box.top, y);
    box.bottom = Math.max(box.bottom, y);
  }
  return box;
}

describe('drawFarmReport', () => {
  it('draws a PNG of the promised size, well inside Telegram photo limits', async () => {
    const png = await drawFarmReport(report());
    expect(pngSize(png)).toEqual({ width: WIDTH, height: HEIGHT });
    expect(WIDTH + HEIGHT).toBeLessThanOrEqual(10_000);
    expect(Math.max(WIDTH / HEIGHT, HEIGHT / WIDTH)).toBeLessThanOrEqual(20);
    // Telegram takes 10 MB; a picture of flat colours and text is far below that.
    expect(png.length).toBeLessThan(1024 * 1024);
    const image = await loadImage(png);
    expect([image.width, image.height]).toEqual([WIDTH, HEIGHT]);
  });

  it.each([
    ['no coin record', report({ coinDays: [] })],
    ['one coin day', report({ coinDays: coinDays(1) })],
    ['14 coin days', report({ coinDays: coinDays(14) })],
    ['more coin days than the chart shows', report({ coinDays: coinDays(40) })],
    ['a flat zero history', report({ coinDays: coinDays(5).map((d) => ({ ...d, coins: 0 })) })],
    ['no plots', report({}, { plots: [] })],
    ['100 plots', report({}, { plots: plots(100, mixedCrop) })],
    ['more plots than fit', report({}, { plots: plots(1_000, mixedCrop) })],
    ['no stock', report({}, { inventory: {} })],
    ['no name', report({ displayName: null })],
    ['a Cyrillic name', report({ displayName: 'Иван' })],
    ['a very long name', report({ displayName: 'Ж'.repeat(64) })],
    // Glyphs the bundled fonts lack come from whatever the machine has, or none: never a throw.
    ['a name with emoji and CJK', report({ displayName: '🌽 李小龍 👨‍🌾' })],
    ['a brand-new farm', report({ coinDays: [] }, newFarm(AS_OF, 1))],
  ])('renders a farm with %s', async (_, data) => {
    const png = await drawFarmReport(data);
    expect(pngSize(png)).toEqual({ width: WIDTH, height: HEIGHT });
    expect(png.length).toBeLessThan(1024 * 1024);
  });

  it('gives the same bytes for the same input, and leaves the input as it was', async () => {
    const data = report({ displayName: 'Иван' }, { plots: plots(30, mixedCrop) });
    const before = structuredClone(data);
    const [first, second] = [await drawFarmReport(data), await drawFarmReport(data)];
    expect(first.equals(second)).toBe(true);
    expect(data).toEqual(before);
  });

  it('draws a ready plot differently from an empty one, in the plots panel only', async () => {
    const ready = report({}, { plots: plots(1, () => mixedCrop(0)) });
    ready.farm.plots[0]!.crop!.readyAtMs = AS_OF - 1;
    const empty = report({}, { plots: plots(1, () => null) });
    const diff = await difference(await drawFarmReport(ready), await drawFarmReport(empty));
    expect(diff.count).toBeGreaterThan(2_000);
    expect(diff.top).toBeGreaterThan(HEADER_BOTTOM);
    expect(diff.bottom).toBeLessThan(CHART_TOP);
    // The plots' summary line names the counts, so the difference stays on the panel's side.
    expect(diff.right).toBeLessThan(PLOTS_RIGHT);
  });

  it("draws a crop's progress from asOfMs: growing, then ready", async () => {
    const crop = { cropId: 'corn' as const, plantedAtMs: AS_OF, readyAtMs: AS_OF + DAY_MS };
    const farm = { plots: plots(4, () => ({ ...crop })) };
    const growing = await drawFarmReport(report({ asOfMs: AS_OF + DAY_MS / 3 }, farm));
    const ready = await drawFarmReport(report({ asOfMs: AS_OF + DAY_MS }, farm));
    const diff = await difference(growing, ready);
    expect(diff.count).toBeGreaterThan(1_000);
    // The title's time changes too, the rest of the page does not.
    expect(diff.bottom).toBeLessThan(CHART_TOP);
  });

  it('draws a different chart for a different history, and nothing else differs', async () => {
    const rising = report({ coinDays: coinDays(14) });
    const falling = report({
      coinDays: coinDays(14).map((day, index) => ({ ...day, coins: 3_000 - index * 150 })),
    });
    const diff = await difference(await drawFarmReport(rising), await drawFarmReport(falling));
    expect(diff.count).toBeGreaterThan(5_000);
    expect(diff.top).toBeGreaterThan(CHART_TOP);
  });

  it('draws "no coin record" differently from a one-day chart', async () => {
    const none = await drawFarmReport(report({ coinDays: [] }));
    const one = await drawFarmReport(report({ coinDays: coinDays(1) }));
    const diff = await difference(none, one);
    expect(diff.count).toBeGreaterThan(1_000);
    expect(diff.top).toBeGreaterThan(CHART_TOP);
  });

  it("writes the player's name in the header with the bundled fonts, Cyrillic included", async () => {
    const cyrillic = await drawFarmReport(report({ displayName: 'Иван' }));
    const none = await drawFarmReport(report({ displayName: null }));
    const diff = await difference(cyrillic, none);
    expect(diff.count).toBeGreaterThan(500);
    expect(diff.bottom).toBeLessThan(HEADER_BOTTOM);

    const family = GlobalFonts.families.find((f) => f.family === REPORT_FONT_FAMILY);
    expect(family?.styles.map((s) => s.weight).sort()).toEqual([400, 700]);
    const ctx = createCanvas(10, 10).getContext('2d');
    ctx.font = `20px "${REPORT_FONT_FAMILY}"`;
    const regular = ctx.measureText('Иван').width;
    ctx.font = `bold 20px "${REPORT_FONT_FAMILY}"`;
    // Bold is a face of its own, not the regular one under another name.
    expect(ctx.measureText('Иван').width).toBeGreaterThan(regular);
  });
});

describe('niceAxis', () => {
  it.each([
    [0, { max: 5, step: 1 }],
    [4, { max: 5, step: 1 }],
    [7, { max: 8, step: 2 }],
    [2_102, { max: 2_500, step: 500 }],
    [2_528, { max: 3_000, step: 1_000 }],
    [12_345, { max: 15_000, step: 5_000 }],
    [1_000_000, { max: 1_000_000, step: 200_000 }],
  ])('tops %d with round ticks from 0', (max, axis) => {
    expect(niceAxis(max)).toEqual(axis);
  });
});
