/**
 * The shape of a schedule as code. A definition says what Temporal should hold for one schedule;
 * `plan` compares it with what Temporal holds and `apply` makes them match. It depends on nothing
 * but the game's time scale (durations shrink with it; calendar times never do), never on the
 * environment or the moment it is applied, so that a plan right after an apply is empty.
 */
import type { CalendarSpec, IntervalSpec, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Duration } from '@temporalio/common';

export interface ScheduleDefinition {
  /** Stable: a new id is a new schedule (the old one is deleted). Owned ids carry a prefix. */
  id: string;
  /** For humans: shown by `list`, `describe` and the Temporal Web UI (as the schedule's memo). */
  description: string;
  spec: {
    intervals?: IntervalSpec[];
    calendars?: CalendarSpec[];
    /** Standard cron lines ("0 17 * * FRI"), read in `timezone`. */
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
