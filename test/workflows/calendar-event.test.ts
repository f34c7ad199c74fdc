/**
 * CalendarEventWorkflow on the real dev server and Redis: an event changes sale prices only while
 * it runs, ends after the game worker was stopped past its end and started again, combines with
 * an overlapping event by multiplying, starts at its schedule's time (a real schedule), and does
 * nothing for a run whose end is already past.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CROPS, NEUTRAL_WORLD, sellPrice } from '../../game';
import {
  ACTIVE_EVENT_MEMO,
  type CalendarEventInput,
  type CalendarEventOutcome,
  SCHEDULED_START_TIME_SEARCH_ATTRIBUTE,
  WORKFLOW_TYPES,
} from '../../workflows/contract';
import { sleepMs, startTestGame, type TestGame } from '../support/game';
import { installTestRuntime } from '../support/temporal';
import {
  eventInput,
  playerWithWheat,
  sellOne,
  startCalendarEvent,
  worldHash,
  worldStore,
} from '../support/world';
import { captureLogs } from '../support/logs';

const { logger, lines } = captureLogs();
let g: TestGame;

beforeAll(async () => {
  // Before the game connects: the Runtime and its logger are per process.
  installTestRuntime(logger);
  g = await startTestGame();
});
afterAll(() => g.close());

const wheat = CROPS.wheat.salePrice;

describe('CalendarEventWorkflow', () => {
  it('doubles sale prices only while it runs', async () => {
    const { act } = await playerWithWheat(g, 1);
    const handle = await startCalendarEvent(g, eventInput({ durationMs: 3_000 }));
    await expect.poll(async () => (await worldStore(g).read()).events?.length).toBe(1);

    const during = await act({ type: 'query' });
    expect(during.world.events).toMatchObject([
      { id: 'harvest-fair', effect: { saleMultiplier: 2 } },
    ]);
    const doubled = sellPrice('wheat', during.world);
    expect(doubled).toBe(2 * wheat);
    expect(await sellOne(act, 'wheat', doubled)).toMatchObject({
      kind: 'actionDone',
      event: { type: 'sold', unitPrice: 2 * wheat, coinsEarned: 2 * wheat },
    });

    const outcome = await handle.result();
    expect(outcome).toMatchObject({ outcome: 'ran', event: { id: 'harvest-fair' } });
    expect(await worldHash(g)).not.toHaveProperty('event:harvest-fair');

    const after = await act({ type: 'query' });
    expect(after.world).toEqual(NEUTRAL_WORLD);
    // The fair's price is refused once the fair is over; today's is paid.
    expect(await sellOne(act, 'wheat', doubled)).toMatchObject({
      kind: 'actionRefused',
      reason: `Price changed: now ${wheat} 🪙 each.`,
    });
    expect(await sellOne(act, 'wheat', wheat)).toMatchObject({
      kind: 'actionDone',
      event: { type: 'sold', unitPrice: wheat, coinsEarned: wheat },
    });
  });

  it('ends after the game worker, stopped past its end, is back', async ({ onTestFailed }) => {
    const durationMs = 2_500;
    const handle = await startCalendarEvent(g, eventInput({ eventId: 'outage-fair', durationMs }));
    await expect.poll(async () => (await worldHash(g))['event:outage-fair']).toBeDefined();
    const { startedAtMs, endsAtMs } = (await worldStore(g).read()).events![0]!;
    expect(endsAtMs - startedAtMs).toBe(durationMs);

    // Stopped once the end's timer is set: a worker stopped while it holds a workflow task makes
    // Temporal wait the task's timeout (10 s) before giving the task to the next worker.
    await expect.poll(() => timerStarted(handle.workflowId)).toBe(true);
    // Where the time went, printed when it fails (a timeout on a loaded machine included).
    const phases: string[] = [];
    onTestFailed(() => console.error(`phases: ${phases.join(', ')}`));
    let phaseStart = Date.now();
    const phase = (name: string) => {
      phases.push(`${name} ${Date.now() - phaseStart} ms`);
      phaseStart = Date.now();
    };
    await g.gameWorker.stop();
    phase('worker stop');
    await sleepMs(endsAtMs - Date.now() + 1_000);
    // Past its end with no worker: the entry is still there, and readers ignore it.
    expect(await worldHash(g)).toHaveProperty('event:outage-fair');
    expect(await worldStore(g).read()).toEqual(NEUTRAL_WORLD);
    const { status } = await handle.describe();
    expect(status.name).toBe('RUNNING');

    phase('past its end');
    const restartingAt = Date.now();
    const worker = await g.startGameWorker();
    phase('worker start');
    const backAt = Date.now();
    try {
      const outcome = await handle.result();
      phase('result');
      const endedAfterMs = Date.now() - backAt;
      expect(outcome).toMatchObject({ outcome: 'ran', event: { id: 'outage-fair', endsAtMs } });
      expect(await worldHash(g)).not.toHaveProperty('event:outage-fair');
      // The removal ran after the restart (order), within max(2 s, 5 % of the duration).
      const removal = await removalScheduledAt(handle.workflowId);
      expect(removal).toBeGreaterThanOrEqual(restartingAt);
      expect(endedAfterMs).toBeLessThan(Math.max(2_000, durationMs * 0.05));
    } finally {
      g.gameWorker = worker;
    }
  }, 60_000);

  it('combines with an overlapping event by multiplying', async () => {
    const { act } = await playerWithWheat(g, 1);
    const fair = await startCalendarEvent(g, eventInput({ eventId: 'fair-x', durationMs: 10_000 }));
    const week = await startCalendarEvent(
      g,
      eventInput({
        eventId: 'wheat-week',
        name: 'Wheat week',
        effect: { saleMultiplier: 1.5, crops: ['wheat'] },
        durationMs: 10_000,
      }),
    );
    try {
      await expect.poll(async () => (await worldStore(g).read()).events?.length).toBe(2);
      const screen = await act({ type: 'query' });
      expect(sellPrice('wheat', screen.world)).toBe(Math.round(wheat * 3));
      expect(sellPrice('carrot', screen.world)).toBe(2 * CROPS.carrot.salePrice);
      expect(await sellOne(act, 'wheat', Math.round(wheat * 3))).toMatchObject({
        kind: 'actionDone',
        event: { type: 'sold', coinsEarned: Math.round(wheat * 3) },
      });
    } finally {
      // A cancelled event leaves world state at once.
      await Promise.all([fair.cancel(), week.cancel()]);
    }
    await expect.poll(async () => (await worldStore(g).read()).events).toBeUndefined();
    await expect(fair.result()).rejects.toThrow(WorkflowFailedError);
  });

  it('refuses input that is not an event, with a clear error', async () => {
    const handle = await startCalendarEvent(g, eventInput({ eventId: 'bad', durationMs: -5 }));
    const failure = await handle.result().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(String((failure as WorkflowFailedError).cause?.message)).toMatch(
      /Not a calendar event: durationMs must be a whole number/,
    );
  });

  it('logs with workflowId and runId and no userHash', async () => {
    const handle = await startCalendarEvent(g, eventInput({ eventId: 'logged', durationMs: 200 }));
    await handle.result();
    const runId = handle.firstExecutionRunId;
    const [fromWorkflow, fromActivity] = await vi.waitFor(() => {
      const mine = lines.filter((l) => l.runId === runId);
      const found = [
        mine.find((l) => l.msg === 'calendar event ended'),
        mine.find((l) => l.msg === 'event removed from world state'),
      ];
      expect(found.every(Boolean)).toBe(true);
      return found;
    });
    for (const line of [fromWorkflow, fromActivity]) {
      expect(line).toMatchObject({ workflowId: handle.workflowId, runId, eventId: 'logged' });
      expect(line).not.toHaveProperty('userHash');
    }
  });
});

describe('CalendarEventWorkflow started by a real schedule', () => {
  const scheduleOf = (id: string, input: CalendarEventInput) =>
    g.t.client.schedule.create({
      scheduleId: id,
      spec: { intervals: [{ every: '1m' }] },
      policies: { overlap: 'SKIP', catchupWindow: '10s' },
      // Paused: only the trigger and the backfill run it during the test.
      state: { paused: true },
      action: {
        type: 'startWorkflow',
        workflowType: WORKFLOW_TYPES.calendarEvent,
        args: [input],
        taskQueue: g.gameTaskQueue,
      },
    });

  it('starts at the time its schedule named and shows the event in its memo', async () => {
    const schedule = await scheduleOf(
      `test-event-${randomUUID()}`,
      eventInput({ eventId: 'sched-fair', durationMs: 1_500 }),
    );
    try {
      await schedule.trigger();
      await expect.poll(async () => (await schedule.describe()).info.recentActions.length).toBe(1);
      const action = (await schedule.describe()).info.recentActions[0]!.action;
      const run = g.t.client.workflow.getHandle(
        action.workflow.workflowId,
        action.workflow.firstExecutionRunId,
      );
      const described = await run.describe();
      const scheduledAt = described.typedSearchAttributes.get(
        SCHEDULED_START_TIME_SEARCH_ATTRIBUTE,
      );
      expect(scheduledAt).toBeInstanceOf(Date);
      const outcome = (await run.result()) as CalendarEventOutcome;
      expect(outcome).toMatchObject({
        outcome: 'ran',
        event: { id: 'sched-fair', startedAtMs: scheduledAt!.getTime() },
      });
      expect((await run.describe()).memo?.[ACTIVE_EVENT_MEMO]).toMatchObject({ id: 'sched-fair' });
    } finally {
      await schedule.delete();
    }
  });

  it('does nothing for a run backfilled from the past', async () => {
    const schedule = await scheduleOf(
      `test-event-${randomUUID()}`,
      eventInput({ eventId: 'past-fair', durationMs: 2_000 }),
    );
    try {
      const hourAgo = Date.now() - 60 * 60 * 1000;
      await schedule.backfill({
        start: new Date(hourAgo),
        end: new Date(hourAgo + 60_000),
        overlap: 'ALLOW_ALL',
      });
      await expect
        .poll(async () => (await schedule.describe()).info.recentActions.length)
        .toBeGreaterThan(0);
      const action = (await schedule.describe()).info.recentActions[0]!.action;
      const outcome = (await g.t.client.workflow
        .getHandle(action.workflow.workflowId, action.workflow.firstExecutionRunId)
        .result()) as CalendarEventOutcome;
      expect(outcome.outcome).toBe('missed');
      if (outcome.outcome === 'missed')
        expect(outcome.endsAtMs).toBeLessThan(Date.now() - 50 * 60 * 1000);
      expect(await worldHash(g)).not.toHaveProperty('event:past-fair');
    } finally {
      await schedule.delete();
    }
  });
});

async function timerStarted(workflowId: string): Promise<boolean> {
  const history = await g.t.client.workflow.getHandle(workflowId).fetchHistory();
  return history.events?.some((e) => e.timerStartedEventAttributes) ?? false;
}

/** When the workflow scheduled its removal activity (from its history). */
async function removalScheduledAt(workflowId: string): Promise<number> {
  const history = await g.t.client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = history.events?.filter(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'removeWorldEvent',
  );
  expect(scheduled).toHaveLength(1);
  const time = scheduled![0]!.eventTime;
  return Number(time?.seconds ?? 0) * 1000 + Math.floor((time?.nanos ?? 0) / 1e6);
}
