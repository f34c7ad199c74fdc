/**
 * Calendar events as the game rules see them: what a running event changes. When and for how
 * long an event runs is the business of its schedule (schedules/events.ts).
 *
 * Overlapping events combine by multiplying: during the harvest fair (×2 on every crop) and
 * pumpkin week (×1.5 on pumpkins), pumpkins sell at ×3. The combined multiplier, like every
 * other, is capped at MAX_MULTIPLIER.
 */
import { type CropId, isCropId } from './crops.js';

export interface EventEffect {
  /** Multiplies sale prices while the event runs. */
  saleMultiplier: number;
  /** The crops it applies to; every crop when absent. */
  crops?: CropId[];
}

/** An event that is running now, as world state holds it. */
export interface ActiveEvent {
  /** The event's definition id, e.g. "harvest-fair". */
  id: string;
  /** For players: "Friday harvest fair". */
  name: string;
  effect: EventEffect;
  startedAtMs: number;
  endsAtMs: number;
}

export function eventAppliesTo(event: ActiveEvent, cropId: CropId): boolean {
  // World state arrives through Redis and workflow payloads: a malformed event applies to nothing.
  if (typeof event !== 'object' || event === null) return false;
  const crops = event.effect?.crops;
  return !Array.isArray(crops) || crops.some((id) => isCropId(id) && id === cropId);
}

/**
 * The product of the sale multipliers of the events that apply to the crop (1 when none). The
 * product stays finite and above 0, so that absurd values end at the cap (sellPrice's
 * sanitizeMultiplier) instead of overflowing to a neutral Infinity or 0.
 */
export function eventSaleMultiplier(
  events: readonly ActiveEvent[] | null | undefined,
  cropId: CropId,
): number {
  const list: readonly ActiveEvent[] = Array.isArray(events) ? (events as ActiveEvent[]) : [];
  let product = 1;
  for (const event of list) {
    if (!eventAppliesTo(event, cropId)) continue;
    const multiplier = event.effect?.saleMultiplier;
    if (typeof multiplier === 'number' && Number.isFinite(multiplier) && multiplier > 0)
      product = Math.min(Number.MAX_VALUE, Math.max(Number.MIN_VALUE, product * multiplier));
  }
  return product;
}
