/**
 * The schedule operations against Temporal, for the schedules CLI, `npm start` and the admin API.
 *
 * Ownership: a schedule is farmflow's when its id starts with the catalog's prefix AND its memo
 * carries the owner marker with that same prefix. Nothing here reads, changes or deletes any
 * other schedule, even one whose id happens to start with the prefix; and a catalog with a
 * longer prefix (a test's "farmflow-test-…-") and the production one ("farmflow-") never take
 * each other's schedules.
 *
 * Temporal keeps a schedule's memo as it was at creation (a memo given to an update is ignored,
 * measured on the dev server, Temporal 1.29), so the marker, which never changes, lives there;
 * the description, which can, travels in the memo of the runs the schedule starts.
 */
import {
  type Client,
  ScheduleNotFoundError as TemporalScheduleNotFoundError,
  type ScheduleDescription,
  type ScheduleHandle,
  type ScheduleOptions,
} from '@temporalio/client';
import { msToNumber } from '@temporalio/common/lib/time';
import pLimit from 'p-limit';
import { createLogger, type Logger } from '../infra/logging';
import { type ScheduleDefinition, validateDefinitions } from './definition';
import {
  COMPARED_FIELDS,
  definitionCalendars,
  definitionFields,
  DESCRIPTION_MEMO_KEY,
  formatDuration,
  liveFields,
  NONE,
  type ScheduleFields,
} from './fields';
import {
  type ApplyResult,
  type BackfillRange,
  type FieldChange,
  type Plan,
  type PlanAction,
  type PlanEntry,
  ScheduleConflictError,
  type ScheduleDetails,
  ScheduleNotFoundError,
  type ScheduleOperations,
  ScheduleRequestError,
  type ScheduleSummary,
} from './operations';

/** The schedule memo key of the owner marker. */
export const OWNER_MEMO_KEY = 'farmflow';

interface OwnerMarker {
  owner: 'farmflow';
  /** The catalog prefix that owns it. */
  idPrefix: string;
}

/** A backfill covers at most this much time... */
export const MAX_BACKFILL_SPAN_MS = 31 * 24 * 60 * 60 * 1000;
/** ...and starts at most this many runs of an interval schedule at once. */
export const MAX_BACKFILL_RUNS = 1000;
/** A note is for humans: a sentence or two. */
export const MAX_NOTE_LENGTH = 500;
/** How many schedules are described at once. */
const DESCRIBE_CONCURRENCY = 4;

export interface ScheduleOperationsOptions {
  client: Client;
  /** What Temporal should hold; checked here (ScheduleDefinitionError lists every problem). */
  definitions: readonly ScheduleDefinition[];
  /** Every owned id starts with it (OWNED_ID_PREFIX in production). */
  idPrefix: string;
  logger?: Logger;
  /** Bounds each operation, all its Temporal calls together (default 30 s). */
  timeoutMs?: number;
}

export function createScheduleOperations(options: ScheduleOperationsOptions): ScheduleOperations {
  const { client, idPrefix } = options;
  validateDefinitions(options.definitions, idPrefix);
  const definitions = new Map(options.definitions.map((d) => [d.id, d]));
  const logger = (options.logger ?? createLogger('silent')).child({ component: 'schedules' });
  const timeoutMs = options.timeoutMs ?? 30_000;
  const marker: OwnerMarker = { owner: 'farmflow', idPrefix };

  const bounded = <T>(work: () => Promise<T>): Promise<T> =>
    client.withDeadline(Date.now() + timeoutMs, work);

  const isOwned = (id: string, memo: Record<string, unknown> | undefined) => {
    const found = memo?.[OWNER_MEMO_KEY] as Partial<OwnerMarker> | undefined;
    return (
      id.startsWith(idPrefix) && found?.owner === marker.owner && found.idPrefix === marker.idPrefix
    );
  };

  const handle = (id: string): ScheduleHandle => client.schedule.getHandle(id);

  /** What Temporal holds under that id, or null when it holds nothing there. */
  async function describeOrNull(id: string): Promise<ScheduleDescription | null> {
    try {
      return await handle(id).describe();
    } catch (err) {
      if (err instanceof TemporalScheduleNotFoundError) return null;
      throw err;
    }
  }

  /** An owned schedule, or ScheduleNotFoundError (for a missing or foreign one alike). */
  async function describeOwned(id: string): Promise<ScheduleDescription> {
    const live = id.startsWith(idPrefix) ? await describeOrNull(id) : null;
    if (!live || !isOwned(id, live.memo)) throw new ScheduleNotFoundError(id);
    return live;
  }

  /**
   * Every owned schedule, described. The defined ids are described directly (a schedule created
   * a moment ago is there at once); others are found by listing, which lags a little behind.
   * A defined id held by a schedule farmflow does not own is a conflict nothing here may resolve:
   * plan and apply stop on it (`strict`); list shows what farmflow does own.
   */
  async function discoverOwned(strict: boolean): Promise<Map<string, ScheduleDescription>> {
    const candidates = new Set(definitions.keys());
    for await (const summary of client.schedule.list()) {
      if (isOwned(summary.scheduleId, summary.memo)) candidates.add(summary.scheduleId);
    }
    const limit = pLimit(DESCRIBE_CONCURRENCY);
    const described = await Promise.all(
      [...candidates].map((id) => limit(async () => [id, await describeOrNull(id)] as const)),
    );
    const owned = new Map<string, ScheduleDescription>();
    for (const [id, live] of described.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (!live) continue;
      if (isOwned(id, live.memo)) owned.set(id, live);
      else if (strict && definitions.has(id)) throw new ScheduleConflictError(id);
    }
    return owned;
  }

  function pausedOf(live: ScheduleDescription): { note: string } | null {
    return live.state.paused ? { note: live.state.note ?? '' } : null;
  }

  function computePlan(owned: Map<string, ScheduleDescription>): Plan {
    const entries: PlanEntry[] = [];
    for (const definition of definitions.values()) {
      const live = owned.get(definition.id);
      const wanted = definitionFields(definition);
      if (!live) {
        const changes = fieldsChanges(null, wanted);
        if (definition.paused)
          changes.push({ field: 'paused', from: null, to: definition.paused.note });
        entries.push({ action: 'create', id: definition.id, changes, paused: null });
        continue;
      }
      const changes = fieldsChanges(liveFields(live), wanted);
      entries.push({
        action: changes.length > 0 ? 'update' : 'unchanged',
        id: definition.id,
        changes,
        paused: pausedOf(live),
      });
    }
    for (const [id, live] of owned) {
      if (definitions.has(id)) continue;
      entries.push({
        action: 'delete',
        id,
        changes: fieldsChanges(liveFields(live), null),
        paused: pausedOf(live),
      });
    }
    const counts: Record<PlanAction, number> = { create: 0, update: 0, delete: 0, unchanged: 0 };
    for (const entry of entries) counts[entry.action] += 1;
    return { entries, counts };
  }

  function scheduleOptions(definition: ScheduleDefinition) {
    const { spec, workflow } = definition;
    return {
      spec: {
        // Cron lines go as the calendars they mean (schedules/cron.ts).
        calendars: definitionCalendars(spec),
        intervals: spec.intervals ?? [],
        timezone: spec.timezone,
        ...(spec.jitter !== undefined ? { jitter: msToNumber(spec.jitter) } : {}),
      },
      action: {
        type: 'startWorkflow' as const,
        workflowType: workflow.type,
        // Temporal appends the scheduled time to it.
        workflowId: definition.id,
        taskQueue: workflow.taskQueue,
        args: workflow.args,
        workflowExecutionTimeout: msToNumber(workflow.executionTimeout),
        memo: { [DESCRIPTION_MEMO_KEY]: definition.description },
      },
      policies: {
        overlap: definition.overlap,
        catchupWindow: msToNumber(definition.catchupWindow),
      },
    } satisfies Omit<ScheduleOptions, 'scheduleId'>;
  }

  async function create(definition: ScheduleDefinition) {
    await client.schedule.create({
      scheduleId: definition.id,
      ...scheduleOptions(definition),
      memo: { [OWNER_MEMO_KEY]: marker },
      // The definition's pause acts here only: afterwards a pause is the operators' business.
      ...(definition.paused ? { state: { paused: true, note: definition.paused.note } } : {}),
    });
    logger.info({ scheduleId: definition.id, paused: !!definition.paused }, 'schedule created');
  }

  async function update(definition: ScheduleDefinition, changes: FieldChange[]) {
    // The SDK describes afresh right before the update: the pause state kept is the newest.
    await handle(definition.id).update((previous) => ({
      ...scheduleOptions(definition),
      state: { paused: previous.state.paused, note: previous.state.note },
    }));
    logger.info(
      { scheduleId: definition.id, fields: changes.map((c) => c.field) },
      'schedule updated',
    );
  }

  function requireNote(note: string): string {
    const trimmed = typeof note === 'string' ? note.trim() : '';
    if (!trimmed)
      throw new ScheduleRequestError('A note is required: say why, for the next person.');
    if (trimmed.length > MAX_NOTE_LENGTH)
      throw new ScheduleRequestError(
        `The note is too long (at most ${MAX_NOTE_LENGTH} characters).`,
      );
    return trimmed;
  }

  function checkBackfillRange(range: BackfillRange, live?: ScheduleDescription) {
    // A caller over HTTP may pass anything: only real, valid dates go on.
    const start = range.start instanceof Date ? range.start.getTime() : Number.NaN;
    const end = range.end instanceof Date ? range.end.getTime() : Number.NaN;
    if (!Number.isFinite(start) || !Number.isFinite(end))
      throw new ScheduleRequestError('The backfill range needs a valid start and end time.');
    if (start >= end) throw new ScheduleRequestError('The backfill start must be before its end.');
    if (end > Date.now())
      throw new ScheduleRequestError(
        'A backfill covers the past: its end must not be in the future (trigger runs one now).',
      );
    const span = end - start;
    if (span > MAX_BACKFILL_SPAN_MS)
      throw new ScheduleRequestError(
        `The backfill range spans ${formatDuration(span)}; at most ${formatDuration(MAX_BACKFILL_SPAN_MS)} at once.`,
      );
    if (!live) return;
    const runs = (live.spec.intervals ?? []).reduce(
      (sum, interval) => sum + Math.floor(span / msToNumber(interval.every)),
      0,
    );
    if (runs > MAX_BACKFILL_RUNS)
      throw new ScheduleRequestError(
        `The backfill would start about ${runs} runs; at most ${MAX_BACKFILL_RUNS} at once: split the range.`,
      );
  }

  function summaryOf(id: string, live: ScheduleDescription): ScheduleSummary {
    const description = liveFields(live).description;
    return {
      id,
      description: description !== NONE ? description : (definitions.get(id)?.description ?? ''),
      paused: live.state.paused,
      note: live.state.note ?? '',
      nextRunTimes: live.info.nextActionTimes.map((t) => t.toISOString()),
      recentRuns: live.info.recentActions.map((run) => ({
        scheduledAt: run.scheduledAt.toISOString(),
        startedAt: run.takenAt.toISOString(),
        workflowId: run.action.workflow.workflowId,
        runId: run.action.workflow.firstExecutionRunId,
      })),
    };
  }

  return {
    plan: () => bounded(async () => computePlan(await discoverOwned(true))),

    apply: () =>
      bounded(async () => {
        const plan = computePlan(await discoverOwned(true));
        const result: ApplyResult = { created: [], updated: [], deleted: [], unchanged: [] };
        for (const entry of plan.entries) {
          const definition = definitions.get(entry.id);
          if (entry.action === 'create' && definition) {
            await create(definition);
            result.created.push(entry.id);
          } else if (entry.action === 'update' && definition) {
            await update(definition, entry.changes);
            result.updated.push(entry.id);
          } else if (entry.action === 'delete') {
            await handle(entry.id).delete();
            logger.info({ scheduleId: entry.id }, 'schedule deleted (no longer defined)');
            result.deleted.push(entry.id);
          } else {
            result.unchanged.push(entry.id);
          }
        }
        return result;
      }),

    list: () =>
      bounded(async () =>
        [...(await discoverOwned(false))].map(([id, live]) => summaryOf(id, live)),
      ),

    describe: (id) =>
      bounded(async () => {
        const live = await describeOwned(id);
        const fields = liveFields(live);
        return {
          ...summaryOf(id, live),
          spec: specText(fields),
          overlap: fields.overlap,
          catchupWindowMs: live.policies.catchupWindow,
          workflowType: live.action.workflowType,
          taskQueue: live.action.taskQueue,
          args: (live.action.args ?? []) as unknown[],
          createdAt: live.info.createdAt.toISOString(),
          defined: definitions.has(id),
        } satisfies ScheduleDetails;
      }),

    pause: (id, note) =>
      bounded(async () => {
        const text = requireNote(note);
        await describeOwned(id);
        await handle(id).pause(text);
        logger.info({ scheduleId: id, note: text }, 'schedule paused');
      }),

    unpause: (id, note) =>
      bounded(async () => {
        const text = requireNote(note);
        await describeOwned(id);
        await handle(id).unpause(text);
        logger.info({ scheduleId: id, note: text }, 'schedule unpaused');
      }),

    trigger: (id) =>
      bounded(async () => {
        const live = await describeOwned(id);
        await handle(id).trigger(live.policies.overlap);
        logger.info({ scheduleId: id, overlap: live.policies.overlap }, 'schedule triggered');
      }),

    backfill: (id, range) =>
      bounded(async () => {
        checkBackfillRange(range);
        const live = await describeOwned(id);
        checkBackfillRange(range, live);
        await handle(id).backfill({
          start: range.start,
          end: range.end,
          overlap: live.policies.overlap,
        });
        logger.info(
          { scheduleId: id, start: range.start.toISOString(), end: range.end.toISOString() },
          'schedule backfilled',
        );
      }),

    delete: (id) =>
      bounded(async () => {
        await describeOwned(id);
        await handle(id).delete();
        logger.info({ scheduleId: id, defined: definitions.has(id) }, 'schedule deleted');
      }),
  };
}

/** Field by field: what differs, both sides readable; a missing side is null. */
function fieldsChanges(from: ScheduleFields | null, to: ScheduleFields | null): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const field of COMPARED_FIELDS) {
    const [a, b] = [from?.[field] ?? null, to?.[field] ?? null];
    // A created or deleted schedule lists only the fields it has.
    if (a === b || ((a === null || a === NONE) && (b === null || b === NONE))) continue;
    changes.push({ field, from: a, to: b });
  }
  return changes;
}

function specText(fields: ScheduleFields): string {
  const parts: string[] = [];
  if (fields['spec.calendars'] !== NONE) parts.push(`calendar ${fields['spec.calendars']}`);
  if (fields['spec.intervals'] !== NONE) parts.push(fields['spec.intervals']);
  const jitter = fields['spec.jitter'] !== NONE ? `, jitter ${fields['spec.jitter']}` : '';
  return `${parts.join('; ')} (timezone ${fields['spec.timezone']}${jitter})`;
}
