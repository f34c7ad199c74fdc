/**
 * The game's calendar, for game designers. Each event runs at its calendar time (real time, in
 * its timezone), lasts `durationSeconds` (shrunk by GAME_TIME_SCALE outside production), and
 * multiplies sale prices while it runs. Change a line here, run `npm run schedules -- plan` to
 * see exactly that change, then `apply`; `trigger <id>` runs it now to try it.
 *
 * Events that overlap combine: their sale multipliers multiply (game/events.ts).
 */
import type { CalendarSpec } from '@temporalio/client';
import type { EventEffect } from '../game';

export interface CalendarEventDefinition {
  /** Stable: the schedule id is built from it. */
  id: string;
  /** What players see: "Friday harvest fair". */
  name: string;
  /** When it starts; read in `timezone`. */
  starts: CalendarSpec;
  timezone: string;
  /** How long it runs at time scale 1. */
  durationSeconds: number;
  effect: EventEffect;
  /** Sent to players when it starts (with the notifications issue); shown on the farm screen. */
  announcement: string;
  /** Paused when first created, with a note why (e.g. waiting for a release). */
  paused?: { note: string };
}

export const CALENDAR_EVENTS: readonly CalendarEventDefinition[] = [
  {
    id: 'harvest-fair',
    name: 'Friday harvest fair',
    starts: { dayOfWeek: 'FRIDAY', hour: 17, minute: 0, comment: 'Fridays 17:00' },
    timezone: 'UTC',
    durationSeconds: 2 * 60 * 60,
    effect: { saleMultiplier: 2 },
    announcement: '🎪 The harvest fair is open: everything sells for double for two hours!',
  },
  {
    id: 'pumpkin-week',
    name: 'Pumpkin week',
    starts: { month: 'OCTOBER', dayOfMonth: 25, hour: 0, minute: 0, comment: 'October 25' },
    timezone: 'UTC',
    durationSeconds: 7 * 24 * 60 * 60,
    effect: { saleMultiplier: 1.5, crops: ['pumpkin'] },
    announcement: '🎃 Pumpkin week: pumpkins sell for half as much again, all week long!',
  },
];
