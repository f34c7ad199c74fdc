/**
 * The schedule operations against the run's dev server: plan is exact, apply is idempotent and
 * touches only what farmflow owns, a pause made at run time wins, and trigger and backfill start
 * real runs. Each test owns a prefix of its own under the file's, so nothing here meets another
 * file's schedules, nor the production catalog's.
 */
import { type ScheduleDescription, type ScheduleOptions } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calendarEventSchedule, marketTickSchedule } from '../../schedules/catalog';
import { formatPlan } from '../../schedules/commands';
import type { ScheduleDefinition } from '../../schedules/definition';
import { createScheduleOperations, OWNER_MEMO_KEY } from '../../schedules/engine';
import { CALENDAR_EVENTS, type CalendarEventDefinition } from '../../schedules/events';
import { definitionFields, liveFields } from '../../schedules/fields';
import {
  ScheduleConflictError,
  ScheduleNotFoundError,
  ScheduleRequestError,
} from '../../schedules/operations';
import { deleteSchedules, eventually, testIdPrefix } from '../support/schedules';
import { connectTestTemporal, type TestTemporal } from '../support/temporal';

let t: TestTemporal;
const filePrefix = testIdPrefix();
let tests = 0;
/** No worker polls it: the catalog's runs (if one comes due mid-test) start and time out. */
const idleQueue = `${filePrefix}idle`;

beforeAll(async () => {
  t = await connectTestTemporal();
});

afterAll(async () => {
  await deleteSchedules(t.client, filePrefix);
  await t.close();
});

/** A prefix for one test, and the catalog built under it. */
function fresh() {
  tests += 1;
  const idPrefix = `${filePrefix}${tests}-`;
  const options = { timeScale: 1, taskQueue: idleQueue, idPrefix };
  const catalog = (events: readonly CalendarEventDefinition[] = CALENDAR_EVENTS) => [
    marketTickSchedule(options),
    ...events.map((event) => calendarEventSchedule(event, options)),
  ];
  const operations = (definitions: ScheduleDefinition[]) =>
    createScheduleOperations({ client: t.client, definitions, idPrefix });
  return { idPrefix, catalog, operations };
}

const fair = CALENDAR_EVENTS.find((event) => event.id === 'harvest-fair')!;
const withFair = (change: Partial<CalendarEventDefinition>) =>
  CALENDAR_EVENTS.map((event) => (event.id === fair.id ? { ...event, ...change } : event));

const describeLive = (id: string) => t.client.schedule.getHandle(id).describe();

/** Until the schedule list (which lags behind creation) shows these ids. */
async function untilListed(ids: string[]) {
  await eventually(
    async () => {
      const listed = new Set<string>();
      for await (const s of t.client.schedule.list()) listed.add(s.scheduleId);
      return ids.every((id) => listed.has(id)) ? true : undefined;
    },
    10_000,
    `schedules ${ids.join(', ')} listed`,
  );
}

/** A schedule made by hand, as farmflow would make it but for the memo. */
function byHand(id: string, memo?: Record<string, unknown>): ScheduleOptions {
  return {
    scheduleId: id,
    spec: { intervals: [{ every: '1h' }] },
    action: { type: 'startWorkflow', workflowType: 'ByHand', taskQueue: idleQueue },
    ...(memo ? { memo } : {}),
  };
}

describe('plan', () => {
  it('is exact: one create per definition with its fields, and the summary line', async () => {
    const { idPrefix, catalog, operations } = fresh();
    const plan = await operations(catalog()).plan();
    expect(plan.entries.map((e) => `${e.action} ${e.id}`)).toEqual([
      `create ${idPrefix}market-tick`,
      `create ${idPrefix}event-harvest-fair`,
      `create ${idPrefix}event-pumpkin-week`,
    ]);
    expect(plan.counts).toEqual({ create: 3, update: 0, delete: 0, unchanged: 0 });
    const fairEntry = plan.entries[1]!;
    expect(fairEntry.paused).toBeNull();
    expect(fairEntry.changes).toContainEqual({
      field: 'spec.calendars',
      from: null,
      to: 'dayOfWeek=FRIDAY at 17:00:00 (Fridays 17:00)',
    });
    expect(fairEntry.changes.map((c) => c.field)).toEqual([
      'description',
      'spec.calendars',
      'spec.timezone',
      'overlap',
      'catchupWindow',
      'workflow.type',
      'workflow.taskQueue',
      'workflow.args',
      'workflow.executionTimeout',
    ]);
    expect(formatPlan(plan).at(-1)).toBe(
      'plan: 3 to create, 0 to update, 0 to delete, 0 unchanged',
    );
  });
});

describe('apply', () => {
  it('creates what is missing, then is idempotent: plan right after shows nothing', async () => {
    const { idPrefix, catalog, operations } = fresh();
    const ops = operations(catalog());
    expect(await ops.apply()).toEqual({
      created: [
        `${idPrefix}market-tick`,
        `${idPrefix}event-harvest-fair`,
        `${idPrefix}event-pumpkin-week`,
      ],
      updated: [],
      deleted: [],
      unchanged: [],
    });
    const again = await ops.apply();
    expect(again.created.concat(again.updated, again.deleted)).toEqual([]);
    expect(again.unchanged).toHaveLength(3);
    const plan = await ops.plan();
    expect(plan.counts).toEqual({ create: 0, update: 0, delete: 0, unchanged: 3 });
    expect(plan.entries.flatMap((e) => e.changes)).toEqual([]);
    expect(formatPlan(plan).at(-1)).toBe(
      'plan: 0 to create, 0 to update, 0 to delete, 3 unchanged',
    );

    // What Temporal holds: the owner marker, and the definition's fields read back the same.
    const live = await describeLive(`${idPrefix}event-harvest-fair`);
    expect(live.memo?.[OWNER_MEMO_KEY]).toEqual({ owner: 'farmflow', idPrefix });
    expect(liveFields(live)).toEqual(definitionFields(catalog()[1]!));
    expect(live.info.nextActionTimes[0]!.toISOString()).toMatch(/T17:00:00\.000Z$/);
  });

  it('a calendar moved to Saturday is exactly one update of spec.calendars, and apply moves it', async () => {
    const { idPrefix, catalog, operations } = fresh();
    await operations(catalog()).apply();
    const moved = operations(
      catalog(withFair({ starts: { ...fair.starts, dayOfWeek: 'SATURDAY' } })),
    );
    const plan = await moved.plan();
    expect(plan.counts).toEqual({ create: 0, update: 1, delete: 0, unchanged: 2 });
    expect(plan.entries.filter((e) => e.action === 'update')).toEqual([
      {
        action: 'update',
        id: `${idPrefix}event-harvest-fair`,
        changes: [
          {
            field: 'spec.calendars',
            from: 'dayOfWeek=FRIDAY at 17:00:00 (Fridays 17:00)',
            to: 'dayOfWeek=SATURDAY at 17:00:00 (Fridays 17:00)',
          },
        ],
        paused: null,
      },
    ]);
    expect(await moved.apply()).toMatchObject({ updated: [`${idPrefix}event-harvest-fair`] });
    expect((await moved.plan()).counts).toEqual({ create: 0, update: 0, delete: 0, unchanged: 3 });
    const next = (await describeLive(`${idPrefix}event-harvest-fair`)).info.nextActionTimes;
    expect(next.length).toBeGreaterThan(0);
    for (const time of next) {
      expect(time.getUTCDay()).toBe(6);
      expect(time.toISOString()).toMatch(/T17:00:00\.000Z$/);
    }
  });

  it('a new multiplier is exactly one update of workflow.args', async () => {
    const { idPrefix, catalog, operations } = fresh();
    await operations(catalog()).apply();
    const richer = operations(catalog(withFair({ effect: { saleMultiplier: 3 } })));
    const plan = await richer.plan();
    expect(plan.counts).toEqual({ create: 0, update: 1, delete: 0, unchanged: 2 });
    const update = plan.entries.find((e) => e.action === 'update')!;
    expect(update.id).toBe(`${idPrefix}event-harvest-fair`);
    expect(update.changes.map((c) => c.field)).toEqual(['workflow.args']);
    expect(update.changes[0]!.from).toContain('"effect":{"saleMultiplier":2}');
    expect(update.changes[0]!.to).toContain('"effect":{"saleMultiplier":3}');
    await richer.apply();
    const args = (await describeLive(`${idPrefix}event-harvest-fair`)).action.args;
    expect(args).toMatchObject([{ eventId: 'harvest-fair', effect: { saleMultiplier: 3 } }]);
  });

  it('deletes a removed definition only if farmflow owns it', async () => {
    const { idPrefix, catalog, operations } = fresh();
    await operations(catalog()).apply();
    // Under the prefix but not farmflow's: no memo, and another catalog's marker.
    const noMarker = `${idPrefix}event-by-hand`;
    const otherCatalog = `${idPrefix}event-of-another-catalog`;
    await t.client.schedule.create(byHand(noMarker));
    await t.client.schedule.create(
      byHand(otherCatalog, { [OWNER_MEMO_KEY]: { owner: 'farmflow', idPrefix: `${idPrefix}x-` } }),
    );
    await untilListed([noMarker, otherCatalog, `${idPrefix}event-pumpkin-week`]);

    const withoutPumpkins = operations(catalog(CALENDAR_EVENTS.filter((e) => e.id === fair.id)));
    const plan = await withoutPumpkins.plan();
    expect(plan.entries.map((e) => `${e.action} ${e.id}`)).toEqual([
      `unchanged ${idPrefix}market-tick`,
      `unchanged ${idPrefix}event-harvest-fair`,
      `delete ${idPrefix}event-pumpkin-week`,
    ]);
    expect(plan.entries[2]!.changes).toContainEqual({
      field: 'spec.calendars',
      from: 'month=OCTOBER dayOfMonth=25 at 00:00:00 (October 25)',
      to: null,
    });
    expect(await withoutPumpkins.apply()).toMatchObject({
      deleted: [`${idPrefix}event-pumpkin-week`],
    });
    await expect(describeLive(`${idPrefix}event-pumpkin-week`)).rejects.toThrow();
    // The others are still there, untouched, and no operation reaches them.
    for (const id of [noMarker, otherCatalog]) {
      expect((await describeLive(id)).action.workflowType).toBe('ByHand');
      await expect(withoutPumpkins.delete(id)).rejects.toBeInstanceOf(ScheduleNotFoundError);
      await expect(withoutPumpkins.describe(id)).rejects.toBeInstanceOf(ScheduleNotFoundError);
      await expect(withoutPumpkins.pause(id, 'no')).rejects.toBeInstanceOf(ScheduleNotFoundError);
      await expect(withoutPumpkins.trigger(id)).rejects.toBeInstanceOf(ScheduleNotFoundError);
    }
    expect((await withoutPumpkins.list()).map((s) => s.id)).toEqual([
      `${idPrefix}event-harvest-fair`,
      `${idPrefix}market-tick`,
    ]);
    expect((await withoutPumpkins.plan()).counts).toEqual({
      create: 0,
      update: 0,
      delete: 0,
      unchanged: 2,
    });
  });

  it('stops, naming it, when a defined id is held by a schedule farmflow does not own', async () => {
    const { idPrefix, catalog, operations } = fresh();
    await t.client.schedule.create(byHand(`${idPrefix}market-tick`));
    const ops = operations(catalog());
    await expect(ops.plan()).rejects.toBeInstanceOf(ScheduleConflictError);
    await expect(ops.apply()).rejects.toThrow(
      `Schedule "${idPrefix}market-tick" exists in Temporal but farmflow does not own it`,
    );
    expect((await describeLive(`${idPrefix}market-tick`)).action.workflowType).toBe('ByHand');
    // list still shows what farmflow owns (nothing here), and describe refuses the foreign one.
    expect(await ops.list()).toEqual([]);
    await expect(ops.describe(`${idPrefix}market-tick`)).rejects.toBeInstanceOf(
      ScheduleNotFoundError,
    );
  });
});

describe('a pause', () => {
  it('made at run time survives apply, and shows in plan without counting as a change', async () => {
    const { idPrefix, catalog, operations } = fresh();
    const fairId = `${idPrefix}event-harvest-fair`;
    const ops = operations(catalog());
    await ops.apply();
    await ops.pause(fairId, '  trying the new stall layout  ');

    const plan = await ops.plan();
    expect(plan.counts).toEqual({ create: 0, update: 0, delete: 0, unchanged: 3 });
    expect(plan.entries.find((e) => e.id === fairId)).toEqual({
      action: 'unchanged',
      id: fairId,
      changes: [],
      paused: { note: 'trying the new stall layout' },
    });
    expect(formatPlan(plan)).toContain(`unchanged ${fairId}  paused: trying the new stall layout`);
    expect(await ops.apply()).toMatchObject({
      updated: [],
      unchanged: expect.arrayContaining([fairId]) as unknown,
    });

    // An update for another reason keeps the pause and its note.
    const richer = operations(catalog(withFair({ effect: { saleMultiplier: 3 } })));
    const changed = await richer.plan();
    expect(changed.entries.find((e) => e.id === fairId)).toMatchObject({
      action: 'update',
      paused: { note: 'trying the new stall layout' },
    });
    await richer.apply();
    const live = await describeLive(fairId);
    expect(live.state).toMatchObject({ paused: true, note: 'trying the new stall layout' });
    expect(live.action.args).toMatchObject([{ effect: { saleMultiplier: 3 } }]);

    await richer.unpause(fairId, 'layout done');
    expect((await describeLive(fairId)).state).toMatchObject({
      paused: false,
      note: 'layout done',
    });
    expect((await richer.plan()).entries.find((e) => e.id === fairId)?.paused).toBeNull();
  });

  it('in a definition acts at creation only: apply never pauses again what an operator unpaused', async () => {
    const { idPrefix, catalog, operations } = fresh();
    const fairId = `${idPrefix}event-harvest-fair`;
    const ops = operations(catalog(withFair({ paused: { note: 'waiting for release 1.4' } })));
    const plan = await ops.plan();
    expect(plan.entries.find((e) => e.id === fairId)?.changes).toContainEqual({
      field: 'paused',
      from: null,
      to: 'waiting for release 1.4',
    });
    await ops.apply();
    expect((await describeLive(fairId)).state).toMatchObject({
      paused: true,
      note: 'waiting for release 1.4',
    });
    await ops.unpause(fairId, 'release 1.4 is out');
    expect((await ops.apply()).unchanged).toContain(fairId);
    expect((await describeLive(fairId)).state.paused).toBe(false);
  });

  it('and an unpause need a note; a clear error without one', async () => {
    const { idPrefix, catalog, operations } = fresh();
    const ops = operations(catalog());
    await ops.apply();
    for (const note of ['', '   ']) {
      await expect(ops.pause(`${idPrefix}market-tick`, note)).rejects.toBeInstanceOf(
        ScheduleRequestError,
      );
      await expect(ops.unpause(`${idPrefix}market-tick`, note)).rejects.toThrow(
        'A note is required',
      );
    }
    expect((await describeLive(`${idPrefix}market-tick`)).state.paused).toBe(false);
  });
});

describe('running now and in the past', () => {
  /** A schedule of the probe workflow on the file's worker queue. */
  function probeSchedule(id: string, change: Partial<ScheduleDefinition> = {}): ScheduleDefinition {
    return {
      id,
      description: 'Runs the probe workflow.',
      // Never due during the test: only trigger and backfill start its runs.
      spec: { calendars: [{ year: 2099, month: 'JANUARY', dayOfMonth: 1 }], timezone: 'UTC' },
      overlap: 'SKIP',
      catchupWindow: '1m',
      workflow: {
        type: 'probeWorkflow',
        args: [{ userHash: 'schedtest', sleepMs: 0, message: 'probe ran' }],
        taskQueue: t.taskQueue,
        executionTimeout: '1m',
      },
      ...change,
    };
  }

  beforeAll(async () => {
    await t.startWorker({ echo: async (message: string) => message });
  });

  it('trigger runs the workflow now', async () => {
    const { idPrefix, operations } = fresh();
    const id = `${idPrefix}probe`;
    const ops = operations([probeSchedule(id)]);
    await ops.apply();
    const before = Date.now();
    await ops.trigger(id);
    const run = await eventually(
      async () => (await describeLive(id)).info.recentActions.at(-1),
      10_000,
      'a run in the recent actions',
    );
    expect(run.takenAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
    const workflow = t.client.workflow.getHandle(run.action.workflow.workflowId);
    expect(await workflow.result()).toBe('probe ran');
    expect(run.action.workflow.workflowId.startsWith(`${id}-`)).toBe(true);
    expect((await ops.list())[0]?.recentRuns.map((r) => r.workflowId)).toEqual([
      run.action.workflow.workflowId,
    ]);
  });

  it('backfill starts the runs a past range would have had, and refuses a bad range', async () => {
    const { idPrefix, operations } = fresh();
    const id = `${idPrefix}backfill`;
    const ops = operations([
      probeSchedule(id, {
        spec: { intervals: [{ every: '1m' }], timezone: 'UTC' },
        overlap: 'ALLOW_ALL',
      }),
    ]);
    await ops.apply();
    // Five whole minutes, ten minutes ago, off the minute so no boundary is in doubt.
    const minute = 60_000;
    const base = Math.floor(Date.now() / minute) * minute - 10 * minute;
    const range = { start: new Date(base + 30_000), end: new Date(base + 5 * minute + 30_000) };
    await ops.backfill(id, range);
    const runs = await eventually(
      async () => {
        const inRange = (await describeLive(id)).info.recentActions.filter(
          (a) => a.scheduledAt >= range.start && a.scheduledAt <= range.end,
        );
        return inRange.length >= 5 ? inRange : undefined;
      },
      20_000,
      'five backfilled runs',
    );
    expect(runs.map((r) => r.scheduledAt.getTime() - base)).toEqual(
      [1, 2, 3, 4, 5].map((m) => m * minute),
    );
    for (const run of runs)
      expect(await t.client.workflow.getHandle(run.action.workflow.workflowId).result()).toBe(
        'probe ran',
      );

    const now = Date.now();
    const refused: [Date, Date, string][] = [
      [range.end, range.start, 'start must be before its end'],
      [new Date(now - minute), new Date(now + minute), 'must not be in the future'],
      [new Date(now - 40 * 86_400_000), new Date(now), 'at most 31d at once'],
      [new Date(now - 86_400_000), new Date(now), 'about 1440 runs; at most 1000'],
      [new Date(Number.NaN), new Date(now), 'valid start and end'],
    ];
    for (const [start, end, reason] of refused) {
      const attempt = ops.backfill(id, { start, end });
      await expect(attempt).rejects.toBeInstanceOf(ScheduleRequestError);
      await expect(ops.backfill(id, { start, end })).rejects.toThrow(reason);
    }
  });
});

describe('cron definitions', () => {
  const lines = [
    '0 17 * * FRI',
    '*/20 9-17 * * MON-FRI',
    '15 6 1,15 * *',
    '@weekly',
    '0 0 1 jan,jul *',
  ];

  it('read as Temporal reads the same line itself', async () => {
    const { idPrefix } = fresh();
    for (const [i, line] of lines.entries()) {
      const id = `${idPrefix}raw-${i}`;
      // Temporal parses this one itself.
      await t.client.schedule.create({
        ...byHand(id),
        spec: { cronExpressions: [line], timezone: 'Europe/Berlin' },
      });
      const temporalReads = liveFields(await describeLive(id))['spec.calendars'];
      const weRead = definitionFields({
        ...marketTickSchedule({ timeScale: 1, taskQueue: idleQueue, idPrefix }),
        spec: { cronExpressions: [line], timezone: 'Europe/Berlin' },
      })['spec.calendars'];
      expect(weRead, line).toBe(`${temporalReads} (cron: ${line})`);
    }
  });

  it('apply and plan without drift; describe shows the line', async () => {
    const { idPrefix, operations } = fresh();
    const id = `${idPrefix}cron`;
    const definition: ScheduleDefinition = {
      ...marketTickSchedule({ timeScale: 1, taskQueue: idleQueue, idPrefix }),
      id,
      spec: { cronExpressions: lines.slice(0, 2), timezone: 'Europe/Berlin', jitter: '10s' },
    };
    const ops = operations([definition]);
    await ops.apply();
    const plan = await ops.plan();
    expect(plan.counts).toEqual({ create: 0, update: 0, delete: 0, unchanged: 1 });
    const details = await ops.describe(id);
    expect(details.spec).toBe(
      'calendar dayOfWeek=FRIDAY at 17:00:00 (cron: 0 17 * * FRI); dayOfWeek=MONDAY-FRIDAY hour=9-17 minute=0,20,40 second=0 (cron: */20 9-17 * * MON-FRI) (timezone Europe/Berlin, jitter 10s)',
    );
    const live: ScheduleDescription = await describeLive(id);
    for (const time of live.info.nextActionTimes) {
      const berlin = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Berlin',
        weekday: 'short',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }).format(time);
      // Jitter delays a run by up to 10 s: the minute is the scheduled one.
      expect(berlin).toMatch(/^(Mon|Tue|Wed|Thu|Fri) (09|1[0-7]):(00|20|40)$|^Fri 17:00$/);
    }
  });
});
