/**
 * CalendarEventWorkflow: one run of a calendar event, started by its schedule. The event runs from
 * the time its schedule named until that time plus its duration, whenever the run itself started:
 * it puts the event in world state, sleeps on a durable timer until the end, then takes it out.
 *
 * When every worker is down at the end, the timer still fires in Temporal; the first worker back
 * runs the removal at once (and readers ignore an event past its end meanwhile). A run that starts
 * after its end (a late catch-up, a backfill of the past) only logs.
 */
import {
  ApplicationFailure,
  CancellationScope,
  log,
  proxyActivities,
  sleep,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import {
  ACTIVE_EVENT_MEMO,
  activeEventOf,
  type CalendarEventInput,
  calendarEventInputProblem,
  type CalendarEventOutcome,
  calendarEventStartMs,
  SCHEDULED_START_TIME_SEARCH_ATTRIBUTE,
  type WorldActivities,
} from './contract';

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
