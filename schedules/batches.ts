/**
 * Reward batches for operators: start a grant batch (or preview it), follow its progress, list
 * batches. Shared by the schedules CLI and the admin API, like the schedule operations.
 *
 * A batch id names what is paid for, and the batch's workflow id is made from it: starting an id
 * that runs attaches to it, and starting one that has run is refused (Temporal's REJECT_DUPLICATE
 * reuse policy), with when it ran and what it paid. Grant ids are `<batchId>:<userHash>`, which
 * the farm applies once.
 */
import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  type WorkflowHandle,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { createPlayerRegistry } from '../store/players';
import { createRebuildMarker } from '../store/rebuild-marker';
import type { RedisClient } from '../store/redis';
import {
  BATCH_MEMO,
  type BatchMemo,
  type BatchPayload,
  type BatchProgress,
  batchWorkflowId,
  type PlayerBatchInput,
  type PlayerBatchResult,
  progressQuery,
  WORKFLOW_TYPES,
} from '../workflows/contract';
import { playerBatchInputProblem } from '../workflows/player-batch';

/** An ad-hoc grant, as an operator asks for it. */
export interface GrantRequest {
  batchId: string;
  coins: number;
  xp: number;
  reason: string;
  message?: string;
  /** Every registered player, or those who joined before a time. */
  population: { kind: 'all' } | { kind: 'joinedBefore'; beforeMs: number };
  pageSize?: number;
  parallelism?: number;
}

/** What a grant would pay, counted in the Redis registry now. */
export interface GrantPreview {
  batchId: string;
  players: number;
  coins: number;
  xp: number;
  /** False: Redis's copy of the players is partial (a backfill is due); the count may be low. */
  registryWhole: boolean;
}

export interface BatchStarted {
  batchId: string;
  workflowId: string;
  /** attached: a batch with this id was already running (its own payload applies). */
  status: 'started' | 'attached';
}

export interface BatchSummary {
  batchId: string;
  workflowId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, TERMINATED, … */
  status: string;
  startedAt: string;
  closedAt: string | null;
  /** What it pays and to whom, from its memo (absent on a batch started without one). */
  memo: BatchMemo | null;
}

export class BatchRequestError extends Error {
  override name = 'BatchRequestError';
}

export class BatchNotFoundError extends Error {
  override name = 'BatchNotFoundError';
  constructor(readonly id: string) {
    super(`No batch "${id}".`);
  }
}

/** The batch id has been used: it ran (or runs no more), and ids are never reused. */
export class BatchAlreadyRanError extends Error {
  override name = 'BatchAlreadyRanError';
}

export interface BatchOperationsOptions {
  client: Client;
  /** Where batches run (TASK_QUEUES.game): the game worker polls it. */
  gameTaskQueue: string;
  /** For previews only; opened on first use by the CLI. */
  redis: () => Promise<{ redis: RedisClient; keyPrefix: string }>;
  /** Bounds each operation's Temporal calls together (default 30 s). */
  timeoutMs?: number;
}

export type BatchOperations = ReturnType<typeof createBatchOperations>;

/** How a workflow ends when something stopped it before it returned. */
const STOPPED_EARLY: ReadonlySet<string> = new Set([
  'TERMINATED',
  'CANCELLED',
  'FAILED',
  'TIMED_OUT',
]);

/**
 * The progress of a workflow that answers `progressQuery` (a batch, the Redis backfill). One
 * stopped before it finished (terminated, cancelled, failed, timed out) still answers what it had
 * done then, as running: it is reported incomplete, with why, so that nobody follows it forever.
 */
export async function readProgress(handle: WorkflowHandle): Promise<BatchProgress> {
  const [progress, { status }] = await Promise.all([
    handle.query(progressQuery),
    handle.describe(),
  ]);
  const over = progress.state === 'done' || progress.state === 'incomplete';
  if (over || !STOPPED_EARLY.has(status.name)) return progress;
  return {
    ...progress,
    state: 'incomplete',
    etaMs: 0,
    failureSamples: [
      `the workflow was ${status.name.toLowerCase().replace('_', ' ')} before it finished`,
      ...progress.failureSamples,
    ],
  };
}

export function createBatchOperations(options: BatchOperationsOptions) {
  const { client, gameTaskQueue } = options;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const bounded = <T>(work: () => Promise<T>): Promise<T> =>
    client.withDeadline(Date.now() + timeoutMs, work);

  const batchInput = (request: GrantRequest): PlayerBatchInput => {
    const input: PlayerBatchInput = {
      batchId: request.batchId,
      population: request.population,
      payload: {
        kind: 'grant',
        coins: request.coins,
        xp: request.xp,
        reason: request.reason.trim(),
        ...(request.message?.trim() ? { message: request.message.trim() } : {}),
      },
      ...(request.pageSize !== undefined ? { pageSize: request.pageSize } : {}),
      ...(request.parallelism !== undefined ? { parallelism: request.parallelism } : {}),
    };
    const problem = playerBatchInputProblem(input);
    if (problem) throw new BatchRequestError(problem);
    return input;
  };

  /** Why this id can never start again: when it ran and what it paid. */
  const refusal = async (batchId: string): Promise<BatchAlreadyRanError> => {
    const handle = client.workflow.getHandle(batchWorkflowId(batchId));
    const description = await handle.describe();
    const when = `started ${description.startTime.toISOString()}, closed ${description.closeTime?.toISOString() ?? '?'}`;
    let what = `status ${description.status.name}`;
    if (description.status.name === 'COMPLETED') {
      const result = (await handle.result()) as PlayerBatchResult;
      what = `${result.outcome}: ${result.done} of ${result.population} players, paid ${result.paidCoins} coins and ${result.paidXp} XP`;
    }
    return new BatchAlreadyRanError(
      `batch "${batchId}" has already run (${when}; ${what}). A batch id names what is paid for and is never reused: give a new payment a new id.`,
    );
  };

  return {
    /** How many players a grant would reach now, and what it would pay in all. */
    async preview(request: GrantRequest): Promise<GrantPreview> {
      const input = batchInput(request);
      const payload = input.payload as Extract<BatchPayload, { kind: 'grant' }>;
      const { redis, keyPrefix } = await options.redis();
      const registry = createPlayerRegistry(redis, keyPrefix);
      const nowMs = Date.now();
      const beforeMs =
        request.population.kind === 'joinedBefore'
          ? Math.min(request.population.beforeMs, nowMs)
          : nowMs;
      const [players, completedAt] = await Promise.all([
        registry.countJoinedBefore(beforeMs),
        createRebuildMarker(redis, keyPrefix).completedAt(),
      ]);
      return {
        batchId: input.batchId,
        players,
        coins: players * payload.coins,
        xp: players * payload.xp,
        registryWhole: completedAt !== null,
      };
    },

    /** Starts the batch, attaches to it if it runs, refuses if it has run. */
    async start(request: GrantRequest): Promise<BatchStarted> {
      const input = batchInput(request);
      const workflowId = batchWorkflowId(input.batchId);
      const memo: BatchMemo = {
        batchId: input.batchId,
        population: input.population,
        payload: input.payload,
      };
      return bounded(async () => {
        try {
          const description = await client.workflow.getHandle(workflowId).describe();
          if (description.status.name === 'RUNNING')
            return { batchId: input.batchId, workflowId, status: 'attached' };
          throw await refusal(input.batchId);
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
        try {
          await client.workflow.start(WORKFLOW_TYPES.playerBatch, {
            workflowId,
            taskQueue: gameTaskQueue,
            args: [input],
            memo: { [BATCH_MEMO]: memo },
            // Running: attach to it. Closed: refuse, whatever its end.
            workflowIdConflictPolicy: 'USE_EXISTING',
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
          });
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError)
            throw await refusal(input.batchId);
          throw err;
        }
        return { batchId: input.batchId, workflowId, status: 'started' };
      });
    },

    /**
     * A batch's progress, by batch id or by workflow id (a batch's `batch-…`, or the Redis
     * backfill's, which answers the same query); see readProgress.
     */
    async progress(id: string): Promise<BatchProgress> {
      return bounded(async () => {
        for (const workflowId of [batchWorkflowId(id), id]) {
          try {
            return await readProgress(client.workflow.getHandle(workflowId));
          } catch (err) {
            if (!(err instanceof WorkflowNotFoundError)) throw err;
          }
        }
        throw new BatchNotFoundError(id);
      });
    },

    /** Batches, newest first (at most `limit`). */
    async list(limit = 100): Promise<BatchSummary[]> {
      return bounded(async () => {
        const batches: BatchSummary[] = [];
        const query = `WorkflowType = '${WORKFLOW_TYPES.playerBatch}'`;
        for await (const run of client.workflow.list({ query, pageSize: limit })) {
          const memo = (run.memo?.[BATCH_MEMO] as BatchMemo | undefined) ?? null;
          batches.push({
            batchId: memo?.batchId ?? run.workflowId.replace(/^batch-/, ''),
            workflowId: run.workflowId,
            status: run.status.name,
            startedAt: run.startTime.toISOString(),
            closedAt: run.closeTime?.toISOString() ?? null,
            memo,
          });
          if (batches.length >= limit) break;
        }
        return batches;
      });
    },
  };
}
