/**
 * Every schedule farmflow owns: the market tick, one schedule per calendar event and the weekly
 * prize. This list is
 * what `npm run schedules -- plan` compares with Temporal.
 */
import { scaledMs } from '../game';
import { type CalendarEventInput, WORKFLOW_TYPES } from '../workflows/contract';
import { type CatalogOptions, MIN_CATCHUP_WINDOW_MS, type ScheduleDefinition } from './definition';
import { CALENDAR_EVENTS, type CalendarEventDefinition } from './events';
import { WEEKLY_PRIZE, type WeeklyPrizeDefinition } from './prizes';

/** The owner prefix of production schedule ids. */
export const OWNED_ID_PREFIX = 'farmflow-';

/** One minute at scale 1; otherwise scaled, but never under 15 s, so a player can sell at the price shown. */
export function marketTickIntervalMs(timeScale: number): number {
  return Math.max(15_000, Math.round(60_000 * timeScale));
}

export function marketTickSchedule(options: CatalogOptions): ScheduleDefinition {
  const everyMs = marketTickIntervalMs(options.timeScale);
  return {
    id: `${options.idPrefix}market-tick`,
    description: 'Moves market prices one step (a bounded random walk) every interval.',
    spec: { intervals: [{ every: everyMs }], timezone: 'UTC' },
    // A tick that is still running makes the next one pointless; after an outage, at most the
    // last interval's tick is made up (late), not every one that was missed.
    overlap: 'SKIP',
    catchupWindow: Math.max(MIN_CATCHUP_WINDOW_MS, everyMs),
    workflow: {
      type: WORKFLOW_TYPES.marketTick,
      args: [],
      taskQueue: options.taskQueue,
      executionTimeout: everyMs,
    },
  };
}

export function calendarEventSchedule(
  event: CalendarEventDefinition,
  options: CatalogOptions,
): ScheduleDefinition {
  const durationMs = scaledMs(event.durationSeconds, options.timeScale);
  const input: CalendarEventInput = {
    eventId: event.id,
    name: event.name,
    effect: event.effect,
    durationMs,
    announcement: event.announcement,
  };
  return {
    id: `${options.idPrefix}event-${event.id}`,
    description: `${event.name}: ${event.announcement}`,
    spec: { calendars: [event.starts], timezone: event.timezone },
    // Two runs of one event at once are impossible: a run due while one runs is skipped.
    overlap: 'SKIP',
    // Late after an outage, an event still runs, until its original end time.
    catchupWindow: Math.max(MIN_CATCHUP_WINDOW_MS, durationMs),
    ...(event.paused ? { paused: event.paused } : {}),
    workflow: {
      type: WORKFLOW_TYPES.calendarEvent,
      args: [input],
      taskQueue: options.taskQueue,
      // Its timer plus a wide margin for workers that were down at its end.
      executionTimeout: durationMs * 2 + 60 * 60 * 1000,
    },
  };
}

/**
 * The weekly prize: a calendar time, which GAME_TIME_SCALE leaves alone like every calendar time.
 * Scaling it into an interval would gain nothing: the batch is named after the ISO week, so runs
 * more often than weekly would all find that week's batch already started.
 */
export function weeklyPrizeSchedule(
  prize: WeeklyPrizeDefinition,
  options: CatalogOptions,
): ScheduleDefinition {
  return {
    id: `${options.idPrefix}weekly-prize`,
    description: `Weekly prize for the leaderboard's top ${prize.prize.prizes.length}: ${prize.prize.prizes.map((p) => p.coins).join('/')} coins.`,
    spec: { calendars: [prize.starts], timezone: prize.timezone },
    overlap: 'SKIP',
    // Late after an outage, the prize is still paid (its batch id names the week either way).
    catchupWindow: 24 * 60 * 60 * 1000,
    workflow: {
      type: WORKFLOW_TYPES.weeklyPrize,
      args: [prize.prize],
      taskQueue: options.taskQueue,
      // It only starts the week's batch, which outlives it.
      executionTimeout: 10 * 60 * 1000,
    },
  };
}

export function scheduleDefinitions(options: CatalogOptions): ScheduleDefinition[] {
  return [
    marketTickSchedule(options),
    ...CALENDAR_EVENTS.map((event) => calendarEventSchedule(event, options)),
    weeklyPrizeSchedule(WEEKLY_PRIZE, options),
  ];
}
