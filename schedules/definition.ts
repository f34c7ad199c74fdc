/**
 * The shape of a schedule as code. A definition says what Temporal should hold for one schedule;
 * `plan` compares it with what Temporal holds and `apply` makes them match. It depends on nothing
 * but the game's time scale (durations shrink with it; calendar times never do), never on the
 * environment or the moment it is applied, so that a plan right after an apply is empty.
 */
import { type CalendarSpec, type IntervalSpec, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import { definitionFields } from './fields';

export interface ScheduleDefinition {
  /** Stable: a new id is a new schedule (the old one is deleted). Owned ids carry a prefix. */
  id: string;
  /**
   * For humans: shown by `list` and `describe`, and in the Temporal Web UI as the memo of each run
   * the schedule starts (a schedule's own memo cannot change after creation).
   */
  description: string;
  spec: {
    intervals?: IntervalSpec[];
    calendars?: CalendarSpec[];
    /**
     * Standard five-field cron lines ("0 17 * * FRI"), read in `timezone`; they become calendars
     * (schedules/cron.ts says which lines are accepted).
     */
    cronExpressions?: string[];
    /** IANA name; calendar and cron times are read in it. */
    timezone: string;
    /** Each run starts up to this much later than its time, at random. */
    jitter?: Duration;
  };
  /** What happens when a run is due while the previous one still runs. */
  overlap: ScheduleOverlapPolicy;
  /** After an outage, runs missed by at most this much still happen (late). */
  catchupWindow: Duration;
  /**
   * Paused at creation, with a note saying why. Only creation reads it: a pause or unpause made
   * at run time wins until someone changes it again (`apply` never touches the paused state).
   */
  paused?: { note: string };
  workflow: {
    /** A workflow type the game worker runs (WORKFLOW_TYPES). */
    type: string;
    args: unknown[];
    taskQueue: string;
    /** A bound on one run, timers included. */
    executionTimeout: Duration;
  };
}

/** What a catalog is built for: the time scale, and where tests put their own copies. */
export interface CatalogOptions {
  /** GAME_TIME_SCALE: durations are multiplied by it; calendar times are not. */
  timeScale: number;
  /** The task queue the game worker polls (TASK_QUEUES.game). */
  taskQueue: string;
  /** Marks the schedules farmflow owns; every id starts with it. */
  idPrefix: string;
}

/** Definitions Temporal would refuse, or would store differently than written; lists every problem. */
export class ScheduleDefinitionError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid schedule definitions:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ScheduleDefinitionError';
  }
}

/** Temporal's shortest catch-up window: a shorter one would be stored as this, and never match. */
export const MIN_CATCHUP_WINDOW_MS = 10_000;
/** Temporal refuses intervals under a second. */
const MIN_INTERVAL_MS = 1_000;
const OVERLAP_POLICIES = new Set(Object.values(ScheduleOverlapPolicy).filter(Boolean));

/**
 * Checks definitions before anything talks to Temporal: unique ids under the owner prefix, a
 * spec that says when, valid cron lines and calendars, a known timezone, durations Temporal
 * keeps as written, and a note for each pause.
 */
export function validateDefinitions(definitions: readonly ScheduleDefinition[], idPrefix: string) {
  const problems: string[] = [];
  const seen = new Set<string>();
  if (!idPrefix) problems.push('the owner id prefix is empty');
  for (const definition of definitions) {
    const { id, spec, workflow } = definition;
    const at = (problem: string) => problems.push(`${id || '(no id)'}: ${problem}`);
    if (seen.has(id)) at('defined twice');
    seen.add(id);
    if (!id.startsWith(idPrefix) || id === idPrefix) at(`the id must start with "${idPrefix}"`);
    if (!definition.description?.trim()) at('the description is empty');
    const when =
      (spec.calendars?.length ?? 0) +
      (spec.intervals?.length ?? 0) +
      (spec.cronExpressions?.length ?? 0);
    if (when === 0) at('the spec has no calendar, interval or cron line');
    if (!isTimezone(spec.timezone)) at(`unknown timezone "${spec.timezone}" (an IANA name)`);
    for (const interval of spec.intervals ?? []) {
      if (!(durationMs(interval.every) >= MIN_INTERVAL_MS)) at('an interval is under 1 s');
    }
    if (spec.jitter !== undefined && !(durationMs(spec.jitter) >= 0)) at('the jitter is invalid');
    if (!OVERLAP_POLICIES.has(definition.overlap))
      at(`unknown overlap policy "${String(definition.overlap)}"`);
    if (!(durationMs(definition.catchupWindow) >= MIN_CATCHUP_WINDOW_MS))
      at('the catch-up window is under 10 s (Temporal would raise it)');
    if (definition.paused && !definition.paused.note?.trim()) at('paused without a note');
    if (!workflow.type) at('no workflow type');
    if (!workflow.taskQueue) at('no task queue');
    if (!Array.isArray(workflow.args)) at('the workflow args are not a list');
    if (!(durationMs(workflow.executionTimeout) > 0)) at('the execution timeout is not positive');
    try {
      definitionFields(definition);
    } catch (err) {
      at((err as Error).message);
    }
  }
  if (problems.length > 0) throw new ScheduleDefinitionError(problems);
}

function durationMs(duration: Duration): number {
  try {
    return msToNumber(duration);
  } catch {
    return Number.NaN;
  }
}

function isTimezone(name: string): boolean {
  if (!name) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
