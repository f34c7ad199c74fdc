/**
 * `npm run schedules -- backfill-redis`: starts the Redis backfill (or attaches to the one
 * running) and shows its progress until it ends, as `progress` shows a batch's. The command's
 * logic apart from Temporal, so tests run it on a real backfill or a stand-in.
 */
import type { BatchProgress } from '../workflows/contract';
import { formatDuration } from './fields';
import { watchProgress, type WatchProgressOptions } from './progress-view';

/** A backfill as the command follows it. */
export interface RedisBackfillRun {
  workflowId: string;
  /**
   * Its progress now (incomplete when it was stopped before it finished: readProgress); null
   * when it cannot say yet (no worker has run it).
   */
  progress(): Promise<BatchProgress | null>;
}

/** Follows the backfill to its end; true if Redis's copy of the players is whole again. */
export async function followRedisBackfill(
  run: RedisBackfillRun,
  view: Omit<WatchProgressOptions, 'read'>,
): Promise<boolean> {
  view.write(
    `redis backfill ${run.workflowId}: rebuilding Redis's copy of the players from the farms\n`,
  );
  const final = await watchProgress({ ...view, read: () => run.progress() });
  if (final.state !== 'done') return false;
  view.write(
    `done: ${final.done} farms copied in ${formatDuration(final.updatedAtMs - final.startedAtMs)}; Redis's copy of the players is whole again\n`,
  );
  return true;
}
