/**
 * GameFarmWorkflow on the run's dev server (the bundle built once) with a STUB registerPlayer: no
 * Redis, no sealed ids. What is under test is the farm's own code around its one activity: it
 * registers each player once across runs, keeps serving actions and continues as new whatever the
 * registration does (fails for good, or never answers), and the next run tries again.
 * test/workflows/farm-registration.test.ts covers the same path with the real activity and Redis.
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegisterPlayerInput } from '../../workflows/contract';
import {
  farmWorkflowId,
  getFarmQuery,
  grantRewardSignal,
  plantCropUpdate,
  USER_HASH_SEARCH_ATTRIBUTE,
  WORKFLOW_TYPES,
} from '../../workflows/contract';
import { CROPS, NEUTRAL_WORLD, STARTING_COINS } from '../../game';
import type { GameFarmWorkflow } from '../../workflows';
import { connectTestTemporal, type TestTemporal } from '../support/temporal';

/** Low, so that a few dozen cheap signals take a farm to its next run. */
const MAX_HISTORY_EVENTS = 30;

interface Registration {
  input: RegisterPlayerInput;
  runId: string | undefined;
  attempt: number;
}

describe('GameFarmWorkflow with a stub registerPlayer', () => {
  let t: TestTemporal;
  /** Per player: what the stub does, and every call it got. */
  const stubs = new Map<
    string,
    { stub: (call: Registration) => Promise<void>; calls: Registration[] }
  >();

  beforeAll(async () => {
    t = await connectTestTemporal();
    await t.startWorker({
      async registerPlayer(input: RegisterPlayerInput) {
        const entry = stubs.get(input.userHash);
        if (!entry) throw ApplicationFailure.nonRetryable('no stub for this player');
        const { info } = Context.current();
        const call = { input, runId: info.workflowExecution?.runId, attempt: info.attempt };
        entry.calls.push(call);
        return entry.stub(call);
      },
    });
  });
  afterAll(() => t.close());

  async function startFarm(stub: (call: Registration) => Promise<void>) {
    const userHash = `stub${randomUUID().slice(0, 12)}`;
    const calls: Registration[] = [];
    stubs.set(userHash, { stub, calls });
    const sealedChatId = `v2.u.sealed-${userHash}`;
    const handle = await t.client.workflow.start<typeof GameFarmWorkflow>(WORKFLOW_TYPES.gameFarm, {
      workflowId: farmWorkflowId(userHash),
      taskQueue: t.taskQueue,
      args: [{ userHash, sealedChatId, timeScale: 1, maxHistoryEvents: MAX_HISTORY_EVENTS }],
      typedSearchAttributes: [{ key: USER_HASH_SEARCH_ATTRIBUTE, value: userHash }],
    });
    /** Cheap signals until the farm continues as new; returns the new run's id. */
    const pushToNextRun = async (runId: string) => {
      for (let i = 0; i < 2 * MAX_HISTORY_EVENTS; i++) {
        const current = (await handle.describe()).runId;
        if (current !== runId) return current;
        await handle.signal(grantRewardSignal, {
          grantId: `filler-${randomUUID()}`,
          issuedAtMs: Date.now(),
          coins: 0,
          xp: 0,
          reason: 'filler',
        });
      }
      throw new Error('the farm never continued as new');
    };
    const plant = (plotId: number) =>
      handle.executeUpdate(plantCropUpdate, {
        args: [
          {
            actionId: `action-${randomUUID()}`,
            action: { type: 'plant', plotId, cropId: 'wheat' },
            world: NEUTRAL_WORLD,
          },
        ],
      });
    const registrationsScheduled = async (runId: string) => {
      const { events } = await t.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
      return (events ?? []).filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'registerPlayer',
      ).length;
    };
    return { userHash, sealedChatId, handle, calls, pushToNextRun, plant, registrationsScheduled };
  }

  it('registers the player once, with the farm’s creation time, and not again in later runs', async () => {
    const farm = await startFarm(async () => undefined);
    await expect.poll(() => farm.calls.length, { timeout: 10_000 }).toBe(1);
    const { farm: state } = await farm.handle.query(getFarmQuery);
    expect(farm.calls[0]).toEqual({
      input: {
        userHash: farm.userHash,
        sealedChatId: farm.sealedChatId,
        joinedAtMs: state.createdAtMs,
      },
      runId: farm.handle.firstExecutionRunId,
      attempt: 1,
    });

    const planted = await farm.plant(0);
    expect(planted.event).toMatchObject({ type: 'planted', plotId: 0, cropId: 'wheat' });
    const secondRunId = await farm.pushToNextRun(farm.handle.firstExecutionRunId);

    // The next run: the carried farm, and no registration scheduled (once its first task ran,
    // which the answer to an update proves).
    expect((await farm.plant(1)).snapshot.farm.coins).toBe(
      STARTING_COINS - 2 * CROPS.wheat.seedPrice,
    );
    const carried = await farm.handle.query(getFarmQuery);
    expect(carried.farm.createdAtMs).toBe(state.createdAtMs);
    expect(carried.farm.plots[0]?.crop?.cropId).toBe('wheat');
    expect(await farm.registrationsScheduled(farm.handle.firstExecutionRunId)).toBe(1);
    expect(await farm.registrationsScheduled(secondRunId)).toBe(0);
    expect(farm.calls).toHaveLength(1);
  });

  it('a registration that fails for good costs one attempt; the farm serves actions, continues as new and the next run registers', async () => {
    const farm = await startFarm(async (call) => {
      if (call.runId === farm.handle.firstExecutionRunId) {
        throw ApplicationFailure.nonRetryable(
          'sealed under another secret (stub)',
          'SealedChatIdUnreadable',
        );
      }
    });
    await expect.poll(() => farm.calls.length, { timeout: 10_000 }).toBe(1);

    // The failed registration does not stop the farm.
    const planted = await farm.plant(1);
    expect(planted.snapshot.farm.coins).toBe(STARTING_COINS - CROPS.wheat.seedPrice);
    const secondRunId = await farm.pushToNextRun(farm.handle.firstExecutionRunId);

    // The next run tries again and succeeds; the failed one was never retried.
    await expect.poll(() => farm.calls.length, { timeout: 10_000 }).toBe(2);
    expect(farm.calls.map((c) => [c.runId, c.attempt])).toEqual([
      [farm.handle.firstExecutionRunId, 1],
      [secondRunId, 1],
    ]);
    expect(farm.calls[1]?.input.joinedAtMs).toBe(farm.calls[0]?.input.joinedAtMs);
    expect((await farm.plant(2)).snapshot.farm.coins).toBe(
      STARTING_COINS - 2 * CROPS.wheat.seedPrice,
    );
  });

  it('a registration that never answers does not keep the farm from continuing as new', async () => {
    let release: () => void = () => undefined;
    const hanging = new Promise<void>((resolve) => (release = resolve));
    const farm = await startFarm(async (call) => {
      if (call.runId === farm.handle.firstExecutionRunId) await hanging;
    });
    try {
      await expect.poll(() => farm.calls.length, { timeout: 10_000 }).toBe(1);
      expect((await farm.plant(0)).event.type).toBe('planted');
      // Still waiting on the registration, the farm reaches its bound and continues as new.
      const secondRunId = await farm.pushToNextRun(farm.handle.firstExecutionRunId);
      await expect.poll(() => farm.calls.length, { timeout: 10_000 }).toBe(2);
      expect(farm.calls[1]?.runId).toBe(secondRunId);
    } finally {
      release();
    }
  });
});
