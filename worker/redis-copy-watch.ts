/**
 * Starts the Redis backfill by itself when Redis's copy of the players is not marked whole: after
 * a flush or a failover to an empty replica (the marker went with the other keys), and once on a
 * Redis that never had a backfill (the leaderboard would otherwise miss every player who has not
 * acted since). Game workers and `npm start` run it: one check at start, then one a minute (a
 * GET, and a Temporal call only while the mark is missing), 5 s after one that failed; every process may start it, since the
 * backfill is one workflow per key prefix and a second start attaches to the first.
 */
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Logger } from '../infra/logging';
import { startRedisBackfill } from '../activities/redis-backfill';
import type { RedisBackfillWorkflow } from '../workflows/redis-backfill';
import { createRebuildMarker } from '../store/rebuild-marker';
import type { RedisClient } from '../store/redis';
import { redisBackfillWorkflowId } from '../workflows/contract';

export const REDIS_COPY_CHECK_INTERVAL_MS = 60_000;
/**
 * A check that failed (Temporal or Redis unreachable: often the very outage that lost the keys)
 * is tried again this soon, not a minute later.
 */
export const REDIS_COPY_RETRY_MS = 5_000;
/**
 * A backfill that ended without marking the copy whole (farms it could not read, Redis losing
 * keys throughout) is not started again by itself before this long: the operator sees why with
 * `npm run schedules -- backfill-redis`, which starts it at once.
 */
export const RESTART_AFTER_INCOMPLETE_MS = 15 * 60_000;

export interface RedisCopyWatchDeps {
  client: Client;
  redis: RedisClient;
  keyPrefix: string;
  gameTaskQueue: string;
  logger: Logger;
}

export type RedisCopyCheck = 'whole' | 'running' | 'ended recently' | 'started';

export function watchRedisCopy(deps: RedisCopyWatchDeps) {
  const marker = createRebuildMarker(deps.redis, deps.keyPrefix);
  const workflowId = redisBackfillWorkflowId(deps.keyPrefix);

  const check = async (): Promise<RedisCopyCheck> => {
    if (await marker.completedAt()) return 'whole';
    try {
      const handle = deps.client.workflow.getHandle<typeof RedisBackfillWorkflow>(workflowId);
      const last = await handle.describe();
      if (last.status.name === 'RUNNING') return 'running';
      const recent =
        last.closeTime && Date.now() - last.closeTime.getTime() < RESTART_AFTER_INCOMPLETE_MS;
      // One that made the copy whole says nothing: the keys went after it.
      const madeWhole =
        last.status.name === 'COMPLETED' && (await handle.result()).state === 'done';
      if (recent && !madeWhole) return 'ended recently';
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    await startRedisBackfill(deps.client, {
      keyPrefix: deps.keyPrefix,
      gameTaskQueue: deps.gameTaskQueue,
    });
    deps.logger.info(
      { workflowId },
      "Redis's copy of the players is not marked whole: started the backfill",
    );
    return 'started';
  };

  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const checkLogged = async () => {
    let next = REDIS_COPY_CHECK_INTERVAL_MS;
    try {
      await check();
    } catch (err) {
      next = REDIS_COPY_RETRY_MS;
      deps.logger.warn(
        { err, retryInMs: next },
        "could not check Redis's copy of the players; trying again soon",
      );
    }
    if (stopped) return;
    timer = setTimeout(() => void checkLogged(), next);
    timer.unref();
  };
  void checkLogged();

  return {
    /** One check now (the watch runs one at start, then every minute, by itself). */
    check,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
