/**
 * What can be done with farmflow's schedules, for the schedules CLI and the admin HTTP API alike.
 * Every operation acts on owned schedules only (see `OWNED_ID_PREFIX` and the owner memo).
 */

export type PlanAction = 'create' | 'update' | 'delete' | 'unchanged';

/** One field that differs between a definition and Temporal, both sides in readable form. */
export interface FieldChange {
  field: string;
  /** What Temporal holds; null when the schedule does not exist there. */
  from: string | null;
  /** What the definition says; null when the definition was removed. */
  to: string | null;
}

export interface PlanEntry {
  action: PlanAction;
  id: string;
  changes: FieldChange[];
  /** Paused at run time (never counted as a change): the note says why. */
  paused: { note: string } | null;
}

export interface Plan {
  entries: PlanEntry[];
  counts: Record<PlanAction, number>;
}

export interface RecentRun {
  scheduledAt: string;
  startedAt: string;
  workflowId: string;
  runId: string;
}

export interface ScheduleSummary {
  id: string;
  description: string;
  paused: boolean;
  note: string;
  /** ISO times, soonest first. */
  nextRunTimes: string[];
  /** Newest last, as Temporal keeps them. */
  recentRuns: RecentRun[];
}

export interface ScheduleDetails extends ScheduleSummary {
  /** Readable: "every 60s", "calendar: FRIDAY 17:00 (UTC)", … */
  spec: string;
  overlap: string;
  catchupWindowMs: number;
  workflowType: string;
  taskQueue: string;
  args: unknown[];
  createdAt: string;
  /** In the catalog, or owned but no longer defined (the next apply deletes it). */
  defined: boolean;
}

export interface ApplyResult {
  created: string[];
  updated: string[];
  deleted: string[];
  unchanged: string[];
}

export interface BackfillRange {
  start: Date;
  end: Date;
}

export interface ScheduleOperations {
  plan(): Promise<Plan>;
  apply(): Promise<ApplyResult>;
  list(): Promise<ScheduleSummary[]>;
  describe(id: string): Promise<ScheduleDetails>;
  pause(id: string, note: string): Promise<void>;
  unpause(id: string, note: string): Promise<void>;
  /** Runs it now, under its overlap policy. */
  trigger(id: string): Promise<void>;
  /** Runs it for every time it would have run in the range, under its overlap policy. */
  backfill(id: string, range: BackfillRange): Promise<void>;
  delete(id: string): Promise<void>;
}

/** No owned schedule has that id. */
export class ScheduleNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`No schedule "${id}" owned by farmflow.`);
    this.name = 'ScheduleNotFoundError';
  }
}

/** The request itself is wrong (a bad range, an empty note, …); the message says how. */
export class ScheduleRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleRequestError';
  }
}

/**
 * Temporal holds a schedule under a defined id that farmflow does not own (made by hand, or by
 * another catalog): nothing farmflow does may change it, so plan and apply stop and say so.
 */
export class ScheduleConflictError extends Error {
  constructor(readonly id: string) {
    super(
      `Schedule "${id}" exists in Temporal but farmflow does not own it: rename the definition, or delete that schedule by hand.`,
    );
    this.name = 'ScheduleConflictError';
  }
}
