/**
 * The per-message workflows on the run's dev server (the bundle built once) with STUB local
 * activities: no farm, no Redis. What is under test is the workflow code: which activity it calls
 * with what, how it turns the answer into a screen, and the local activities' retry policy.
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplyFarmActionInput, PlayerRef } from '../../workflows/contract';
import {
  type ApplyFarmActionResult,
  type FarmSnapshot,
  mainMenuWorkflowId,
  USER_HASH_SEARCH_ATTRIBUTE,
  WORKFLOW_TYPES,
} from '../../workflows/contract';
import { type ActionEvent, type FarmAction, newFarm, type WorldState } from '../../game';
import type { MainMenuMessageWorkflow, MainMenuQueryWorkflow } from '../../workflows';
import { nextUpdateId } from '../support/game';
import { connectTestTemporal, type TestTemporal } from '../support/temporal';

const WORLD: WorldState = { marketMultiplier: 1.5, eventMultiplier: 1, eventName: null };

const snapshotOf = (userHash: string, coins: number): FarmSnapshot => ({
  userHash,
  farm: { ...newFarm(1_000, 1), coins },
  readyCrops: [],
  asOfMs: 5_000,
});

interface Call<I> {
  input: I;
  workflowId: string | undefined;
  isLocal: boolean;
  attempt: number;
}

/** What each stub does, chosen per player so one worker serves every test. */
type ReadStub = (input: PlayerRef) => Promise<{ snapshot: FarmSnapshot; world: WorldState }>;
type ApplyStub = (input: ApplyFarmActionInput) => Promise<ApplyFarmActionResult>;

describe('MainMenuQueryWorkflow and MainMenuMessageWorkflow with stub local activities', () => {
  let t: TestTemporal;
  const reads = new Map<string, { stub: ReadStub; calls: Call<PlayerRef>[] }>();
  const applies = new Map<string, { stub: ApplyStub; calls: Call<ApplyFarmActionInput>[] }>();
  const record = <I extends PlayerRef>(calls: Call<I>[], input: I) => {
    const { info } = Context.current();
    calls.push({
      input,
      workflowId: info.workflowExecution?.workflowId,
      isLocal: info.isLocal,
      attempt: info.attempt,
    });
  };

  beforeAll(async () => {
    t = await connectTestTemporal();
    await t.startWorker({
      async readFarm(input: PlayerRef) {
        const entry = reads.get(input.userHash);
        if (!entry) throw ApplicationFailure.nonRetryable('no stub for this player');
        record(entry.calls, input);
        return entry.stub(input);
      },
      async applyFarmAction(input: ApplyFarmActionInput) {
        const entry = applies.get(input.userHash);
        if (!entry) throw ApplicationFailure.nonRetryable('no stub for this player');
        record(entry.calls, input);
        return entry.stub(input);
      },
    });
  });
  afterAll(() => t.close());

  const player = () => ({
    userHash: `stub${randomUUID().slice(0, 12)}`,
    sealedChatId: 'v2.u.sealed',
  });
  const start = (userHash: string) => ({
    workflowId: mainMenuWorkflowId(userHash, nextUpdateId()),
    taskQueue: t.taskQueue,
    typedSearchAttributes: [{ key: USER_HASH_SEARCH_ATTRIBUTE, value: userHash }],
  });

  it('the query workflow returns the farm screen of what readFarm read', async () => {
    const ref = player();
    const read = { snapshot: snapshotOf(ref.userHash, 77), world: WORLD };
    const calls: Call<PlayerRef>[] = [];
    reads.set(ref.userHash, { stub: async () => read, calls });
    const options = start(ref.userHash);

    const screen = await t.client.workflow.execute<typeof MainMenuQueryWorkflow>(
      WORKFLOW_TYPES.mainMenuQuery,
      { ...options, args: [ref] },
    );
    expect(screen).toEqual({ kind: 'farm', snapshot: read.snapshot, world: WORLD });
    expect(calls).toEqual([
      { input: ref, workflowId: options.workflowId, isLocal: true, attempt: 1 },
    ]);
  });

  it('the message workflow sends the action with its own workflow id as action id', async () => {
    const ref = player();
    const action: FarmAction = { type: 'plant', plotId: 2, cropId: 'carrot' };
    const event: ActionEvent = {
      type: 'planted',
      plotId: 2,
      cropId: 'carrot',
      coinsSpent: 12,
      readyAtMs: 9_000,
    };
    const snapshot = snapshotOf(ref.userHash, 38);
    const calls: Call<ApplyFarmActionInput>[] = [];
    applies.set(ref.userHash, {
      stub: async () => ({ ok: true, result: { event, snapshot }, world: WORLD }),
      calls,
    });
    const options = start(ref.userHash);

    const screen = await t.client.workflow.execute<typeof MainMenuMessageWorkflow>(
      WORKFLOW_TYPES.mainMenuMessage,
      { ...options, args: [{ ...ref, action }] },
    );
    expect(screen).toEqual({ kind: 'actionDone', event, snapshot, world: WORLD });
    expect(calls).toEqual([
      {
        input: { actionId: options.workflowId, ...ref, action },
        workflowId: options.workflowId,
        isLocal: true,
        attempt: 1,
      },
    ]);
  });

  it('a refusal becomes the refused screen with the farm as it is', async () => {
    const ref = player();
    const snapshot = snapshotOf(ref.userHash, 3);
    applies.set(ref.userHash, {
      stub: async () => ({ ok: false, reason: 'Not enough coins.', snapshot, world: WORLD }),
      calls: [],
    });
    const screen = await t.client.workflow.execute<typeof MainMenuMessageWorkflow>(
      WORKFLOW_TYPES.mainMenuMessage,
      { ...start(ref.userHash), args: [{ ...ref, action: { type: 'buyPlot' } }] },
    );
    expect(screen).toEqual({
      kind: 'actionRefused',
      reason: 'Not enough coins.',
      snapshot,
      world: WORLD,
    });
  });

  it('retries a failing local activity with the same action id, then returns its screen', async () => {
    const ref = player();
    const snapshot = snapshotOf(ref.userHash, 50);
    const event: ActionEvent = { type: 'dailyBonusClaimed', coinsEarned: 50 };
    const calls: Call<ApplyFarmActionInput>[] = [];
    applies.set(ref.userHash, {
      stub: async () => {
        if (calls.length < 3) throw new Error('farm unreachable (stub)');
        return { ok: true, result: { event, snapshot }, world: WORLD };
      },
      calls,
    });
    const options = start(ref.userHash);
    const screen = await t.client.workflow.execute<typeof MainMenuMessageWorkflow>(
      WORKFLOW_TYPES.mainMenuMessage,
      { ...options, args: [{ ...ref, action: { type: 'claimDailyBonus' } }] },
    );
    expect(screen).toEqual({ kind: 'actionDone', event, snapshot, world: WORLD });
    expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(new Set(calls.map((c) => c.input.actionId))).toEqual(new Set([options.workflowId]));
  });

  it('a non-retryable failure of the local activity fails the workflow at once', async () => {
    const ref = player();
    const calls: Call<PlayerRef>[] = [];
    reads.set(ref.userHash, {
      stub: async () => {
        throw ApplicationFailure.nonRetryable('cannot read (stub)', 'StubFailure');
      },
      calls,
    });
    const failed = await t.client.workflow
      .execute<typeof MainMenuQueryWorkflow>(WORKFLOW_TYPES.mainMenuQuery, {
        ...start(ref.userHash),
        args: [ref],
      })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(failed).toBeInstanceOf(WorkflowFailedError);
    // The workflow does not catch it: the stub's failure is the workflow's, after one attempt.
    expect((failed as WorkflowFailedError).cause).toBeInstanceOf(ApplicationFailure);
    expect((failed as WorkflowFailedError).cause).toMatchObject({
      type: 'StubFailure',
      message: 'cannot read (stub)',
      nonRetryable: true,
    });
    expect(calls).toHaveLength(1);
  });
});
