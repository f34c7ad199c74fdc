/**
 * CalendarEventWorkflow: one run of a calendar event, started by its schedule. The event runs from
 * the time its schedule named until that time plus its duration, whenever the run itself started:
 * it puts the event in world state, sleeps on a durable timer until the end, then takes it out.
 *
 * While it runs, every player is told (an announcement batch, PlayerBatchWorkflow, which stops
 * at the event's end: nobody is told about an event that is over).
 *
 * When every worker is down at the end, the timer still fires in Temporal; the first worker back
 * runs the removal at once (and readers ignore an event past its end meanwhile). A run that starts
 * after its end (a late catch-up, a backfill of the past) only logs.
 */
import {
  ApplicationFailure,
  CancellationScope,
  log,
  patched,
  proxyActivities,
  sleep,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import {
  ACTIVE_EVENT_MEMO,
  type CalendarEventInput,
  type CalendarEventOutcome,
  type PlayerBatchInput,
  SCHEDULED_START_TIME_SEARCH_ATTRIBUTE,
  type WorldActivities,
} from './contract';
import { startBatchOnce } from './player-batch';
import type { ActiveEvent, EventEffect } from '../game';

/** Runs of calendar events started before announcements replay without them. */
export const EVENT_ANNOUNCEMENTS_PATCH = 'event-announcements';

/** One announcement per run of an event: its id and the time its schedule named. */
export const announcementBatchId = (eventId: string, startedAtMs: number) =>
  `announcement-${eventId}-${new Date(startedAtMs).toISOString()}`;

const { addWorldEvent, removeWorldEvent } = proxyActivities<WorldActivities>({
  startToCloseTimeout: '10s',
  // Short backoff: an event must end within seconds of its end even after a Redis hiccup.
  retry: { initialInterval: '100ms', maximumInterval: '1s' },
});

export async function CalendarEventWorkflow(
  input: CalendarEventInput,
): Promise<CalendarEventOutcome> {
  const problem = calendarEventInputProblem(input);
  if (problem) {
    throw ApplicationFailure.nonRetryable(
      `Not a calendar event: ${problem}`,
      'InvalidCalendarEventInput',
    );
  }
  const info = workflowInfo();
  const startedAtMs = calendarEventStartMs(
    info.typedSearchAttributes.get(SCHEDULED_START_TIME_SEARCH_ATTRIBUTE),
    info.startTime,
  );
  const event = activeEventOf(input, startedAtMs);
  const times = { eventId: event.id, startedAtMs, endsAtMs: event.endsAtMs };
  if (Date.now() >= event.endsAtMs) {
    log.info('calendar event already over when its run started: nothing to do', times);
    return { outcome: 'missed', startedAtMs, endsAtMs: event.endsAtMs };
  }

  upsertMemo({ [ACTIVE_EVENT_MEMO]: event });
  try {
    await addWorldEvent({ event, runId: info.runId });
    log.info('calendar event started', times);
    if (patched(EVENT_ANNOUNCEMENTS_PATCH)) await announce(input, event);
    const leftMs = event.endsAtMs - Date.now();
    if (leftMs > 0) await sleep(leftMs);
  } finally {
    // Also when the run is cancelled: an event stopped by hand leaves world state at once.
    await CancellationScope.nonCancellable(() =>
      removeWorldEvent({ eventId: event.id, runId: info.runId }),
    );
  }
  log.info('calendar event ended', times);
  return { outcome: 'ran', event };
}

/**
 * Starts the announcement batch for this run of the event (every player, until its end), unless a
 * run of it already did: the batch's id comes from the event and its start, so a second run of
 * the same event (a retry, a second trigger) attaches to nothing new. The batch outlives this run
 * (ABANDON): ending the event early does not stop the batch, which stops at `notAfterMs` anyway.
 */
async function announce(input: CalendarEventInput, event: ActiveEvent): Promise<void> {
  const batchId = announcementBatchId(event.id, event.startedAtMs);
  const batch: PlayerBatchInput = {
    batchId,
    population: { kind: 'all' },
    payload: {
      kind: 'notice',
      content: {
        topic: 'announcement',
        eventId: event.id,
        name: event.name,
        text: input.announcement,
        endsAtMs: event.endsAtMs,
      },
      notAfterMs: event.endsAtMs,
    },
  };
  if ((await startBatchOnce(batch)) === 'started') {
    log.info('announcement batch started', { batchId });
  } else {
    log.info('announcement batch already started by an earlier run', { batchId });
  }
}

/** Why an input cannot be run as a calendar event; null when it can. */
function calendarEventInputProblem(input: unknown): string | null {
  const raw = (input ?? {}) as Partial<Record<keyof CalendarEventInput, unknown>>;
  if (typeof raw.eventId !== 'string' || raw.eventId.trim() === '')
    return 'eventId must be a non-empty string';
  if (typeof raw.name !== 'string') return 'name must be a string';
  if (
    typeof raw.durationMs !== 'number' ||
    !Number.isSafeInteger(raw.durationMs) ||
    raw.durationMs < 1
  )
    return 'durationMs must be a whole number of milliseconds of at least 1';
  const multiplier = (raw.effect as Partial<EventEffect> | undefined)?.saleMultiplier;
  if (typeof multiplier !== 'number' || !Number.isFinite(multiplier) || multiplier <= 0)
    return 'effect.saleMultiplier must be a positive number';
  return null;
}

/**
 * When a calendar event's run starts: the time its schedule named, so that a run started late
 * (workers down, a catch-up) still ends when the calendar says; the workflow's own start time when
 * no schedule started it (a direct start).
 */
function calendarEventStartMs(scheduledStart: Date | undefined, workflowStart: Date) {
  return (scheduledStart ?? workflowStart).getTime();
}

/** The event a run of `input` puts in world state while it runs. */
function activeEventOf(input: CalendarEventInput, startedAtMs: number): ActiveEvent {
  return {
    id: input.eventId,
    name: input.name,
    effect: input.effect,
    startedAtMs,
    endsAtMs: startedAtMs + input.durationMs,
  };
}
