/**
 * The crop catalogue. Pure data: imported by deterministic workflow code, so no I/O here.
 *
 * Balance: at a neutral market every harvest sells for more than its seeds. Quick crops earn
 * more per minute of attention, slow crops more per harvest, so a player who checks in rarely
 * still has something worth planting. Each crop unlocks at a higher level than the one before.
 */

export const CROP_IDS = ['wheat', 'carrot', 'corn', 'pumpkin', 'strawberry'] as const;

export type CropId = (typeof CROP_IDS)[number];

export interface Crop {
  id: CropId;
  /** Capitalised, singular: "Corn". */
  name: string;
  /** Lower case, used for counts other than one: "3 carrots", "3 wheat". */
  plural: string;
  emoji: string;
  /** At time scale 1; see `growDurationMs` in rules.ts for the scaled value. */
  growSeconds: number;
  seedPrice: number;
  /** Per unit, before market and event multipliers. */
  salePrice: number;
  /** Gained per harvest, not per unit. */
  xp: number;
  unlockLevel: number;
  /** Units per harvest. */
  yield: number;
}

export const CROPS: Readonly<Record<CropId, Crop>> = Object.freeze({
  wheat: {
    id: 'wheat',
    name: 'Wheat',
    plural: 'wheat',
    emoji: '🌾',
    growSeconds: 2 * 60,
    seedPrice: 5,
    salePrice: 4,
    xp: 2,
    unlockLevel: 1,
    yield: 3,
  },
  carrot: {
    id: 'carrot',
    name: 'Carrot',
    plural: 'carrots',
    emoji: '🥕',
    growSeconds: 5 * 60,
    seedPrice: 12,
    salePrice: 8,
    xp: 4,
    unlockLevel: 2,
    yield: 3,
  },
  corn: {
    id: 'corn',
    name: 'Corn',
    plural: 'corn',
    emoji: '🌽',
    growSeconds: 15 * 60,
    seedPrice: 30,
    salePrice: 20,
    xp: 10,
    unlockLevel: 3,
    yield: 3,
  },
  pumpkin: {
    id: 'pumpkin',
    name: 'Pumpkin',
    plural: 'pumpkins',
    emoji: '🎃',
    growSeconds: 60 * 60,
    seedPrice: 80,
    salePrice: 60,
    xp: 30,
    unlockLevel: 5,
    yield: 3,
  },
  strawberry: {
    id: 'strawberry',
    name: 'Strawberry',
    plural: 'strawberries',
    emoji: '🍓',
    growSeconds: 4 * 60 * 60,
    seedPrice: 200,
    salePrice: 40,
    xp: 80,
    unlockLevel: 8,
    yield: 12,
  },
});

for (const crop of Object.values(CROPS)) Object.freeze(crop);

export function isCropId(value: unknown): value is CropId {
  // `in` or an index lookup would also accept inherited names such as "toString".
  return typeof value === 'string' && (CROP_IDS as readonly string[]).includes(value);
}

/** "1 carrot", "3 carrots", "3 wheat": for player-facing text. */
export function cropQuantityText(cropId: CropId, quantity: number): string {
  const crop = CROPS[cropId];
  return `${quantity} ${quantity === 1 ? crop.name.toLowerCase() : crop.plural}`;
}
