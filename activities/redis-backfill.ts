/**
 * The Redis backfill's activities (game task queue): list the running farms through Temporal's
 * visibility one page at a time, read each farm's copy by query, and write it to Redis through
 * `writePlayerCopy`, as the farm's own `publishPlayer` does. Also how a process starts (or finds) the backfill.
 */
import { Context, log } from '@temporalio/activity';
import { type Client, QueryNotRegisteredError } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import pLimit from 'p-limit';
import { preferencesOf } from '../game';
import { writePlayerCopy } from '../store/leaderboard';
import { createRebuildMarker } from '../store/rebuild-marker';
import type { RedisClient } from '../store/redis';
import {
  type BackfillPageInput,
  type BackfillPageResult,
  getFarmQuery,
  getPlayerRecordQuery,
  getSealedChatIdQuery,
  type PlayerRecordCopy,
  type RedisBackfillActivities,
  type RedisBackfillInput,
  redisBackfillWorkflowId,
  WORKFLOW_TYPES,
} from '../workflows/contract';
import type { RedisBackfillWorkflow } from '../workflows/redis-backfill';

export interface RedisBackfillActivityDeps {
  redis: RedisClient;
  keyPrefix: string;
  /** Lists and queries the farms. */
  client: Client;
}

/** A farm's query waits this long at most (a farm no worker can run must not hold the page). */
const QUERY_DEADLINE_MS = 10_000;
/** Attempts per farm within a page before it counts as a failure. */
const FARM_ATTEMPTS = 3;
const FARM_RETRY_DELAY_MS = 500;
const FAILURE_SAMPLES = 5;

/** The visibility query for the farms of a game (`sinceMs`: only runs started since then). */
export function runningFarmsQuery(gameTaskQueue: string, sinceMs: number | null = null): string {
  const farms =
    `WorkflowType = '${WORKFLOW_TYPES.gameFarm}' AND ExecutionStatus = 'Running' ` +
    `AND TaskQueue = '${gameTaskQueue.replace(/'/g, "''")}'`;
  return sinceMs === null
    ? farms
    : `${farms} AND StartTime >= '${new Date(sinceMs).toISOString()}'`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createRedisBackfillActivities(
  deps: RedisBackfillActivityDeps,
): RedisBackfillActivities {
  const { client } = deps;
  const marker = createRebuildMarker(deps.redis, deps.keyPrefix);
  const bounded = <T>(fn: () => Promise<T>) =>
    client.withDeadline(Date.now() + QUERY_DEADLINE_MS, fn);

  /**
   * What Redis should hold of one farm; null if the farm is gone. A farm run from before
   * `getPlayerRecord` answers its snapshot and sealed chat id instead: what it lacks takes the
   * defaults the farm itself takes when it adds its profile (reachable, XP reached at creation,
   * name unknown; notifications as its preferences say).
   */
  const readCopy = async (workflowId: string): Promise<PlayerRecordCopy | null> => {
    const handle = client.workflow.getHandle(workflowId);
    try {
      return await bounded(() => handle.query(getPlayerRecordQuery));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      if (!(err instanceof QueryNotRegisteredError)) throw err;
    }
    const [snapshot, sealedChatId] = await Promise.all([
      bounded(() => handle.query(getFarmQuery)),
      bounded(() => handle.query(getSealedChatIdQuery)),
    ]);
    const preferences = preferencesOf(snapshot.farm);
    return {
      userHash: snapshot.userHash,
      sealedChatId,
      joinedAtMs: snapshot.farm.createdAtMs,
      xp: snapshot.farm.xp,
      xpReachedAtMs: snapshot.profile?.xpReachedAtMs ?? snapshot.farm.createdAtMs,
      displayName: preferences.showName ? (snapshot.profile?.displayName ?? null) : null,
      notifications: preferences.notifications,
      reachable: snapshot.profile?.reachable ?? true,
    };
  };

  /** Written, gone, or why it failed after a few attempts. */
  const backfillFarm = async (
    workflowId: string,
  ): Promise<{ outcome: 'written' | 'gone' } | { outcome: 'failed'; reason: string }> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const copy = await readCopy(workflowId);
        if (!copy) return { outcome: 'gone' };
        // As the farm's publishPlayer writes it, unless the farm has written its own copy since
        // the loss: that one stays (it is current), and only its missing places are put back.
        await writePlayerCopy(deps.redis, deps.keyPrefix, copy, { restore: true });
        return { outcome: 'written' };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { outcome: 'gone' };
        // A copy writePlayerCopy refuses is refused on every attempt.
        if (attempt >= FARM_ATTEMPTS || err instanceof RangeError)
          return {
            outcome: 'failed',
            reason: `${workflowId}: ${err instanceof Error ? err.message : String(err)}`,
          };
        await sleep(FARM_RETRY_DELAY_MS * attempt);
      }
    }
  };

  return {
    async countRunningFarms(gameTaskQueue: string): Promise<number> {
      return (await client.workflow.count(runningFarmsQuery(gameTaskQueue))).count;
    },

    async beginRedisRebuild(): Promise<string> {
      return marker.begin();
    },

    async backfillFarmsPage(input: BackfillPageInput): Promise<BackfillPageResult> {
      const response = await client.workflowService.listWorkflowExecutions({
        namespace: client.options.namespace,
        query: runningFarmsQuery(input.gameTaskQueue, input.sinceMs),
        pageSize: input.pageSize,
        nextPageToken: input.pageToken ? Buffer.from(input.pageToken, 'base64') : undefined,
      });
      const workflowIds = (response.executions ?? []).flatMap((e) =>
        e.execution?.workflowId ? [e.execution.workflowId] : [],
      );
      const limit = pLimit(input.concurrency);
      const outcomes = await Promise.all(
        workflowIds.map((workflowId) =>
          limit(async () => {
            const outcome = await backfillFarm(workflowId);
            Context.current().heartbeat();
            return outcome;
          }),
        ),
      );
      const failures = outcomes.flatMap((o) => (o.outcome === 'failed' ? [o.reason] : []));
      if (failures.length > 0)
        log.warn('some farms could not be backfilled', { failed: failures.length, failures });
      const token = response.nextPageToken;
      return {
        written: outcomes.filter((o) => o.outcome === 'written').length,
        gone: outcomes.filter((o) => o.outcome === 'gone').length,
        failed: failures.length,
        failureSamples: failures.slice(0, FAILURE_SAMPLES),
        nextPageToken: token && token.length > 0 ? Buffer.from(token).toString('base64') : null,
      };
    },

    async finishRedisRebuild(token: string): Promise<boolean> {
      const whole = await marker.finish(token, new Date());
      if (whole) log.info("Redis's copy of the players is whole again");
      else log.warn('Redis lost keys during the rebuild');
      return whole;
    },
  };
}

/** The backfill's workflow id and input for a game whose Redis keys start with `keyPrefix`. */
export interface RedisBackfillTarget {
  keyPrefix: string;
  gameTaskQueue: string;
}

/**
 * Starts the backfill, or attaches to the one running (one per key prefix); a finished one is
 * started anew (Temporal's default reuse policy allows that).
 */
export async function startRedisBackfill(
  client: Client,
  target: RedisBackfillTarget & Omit<RedisBackfillInput, 'gameTaskQueue' | 'carried'>,
) {
  const { keyPrefix, ...input } = target;
  return client.workflow.start<typeof RedisBackfillWorkflow>(WORKFLOW_TYPES.redisBackfill, {
    workflowId: redisBackfillWorkflowId(keyPrefix),
    taskQueue: target.gameTaskQueue,
    args: [input satisfies RedisBackfillInput],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
}
