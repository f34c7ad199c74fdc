/**
 * `npm run schedules -- backfill-redis`: starts the Redis backfill (or attaches to the one
 * running) and shows its progress until it ends. The command's logic apart from Temporal, so
 * tests run it on a real backfill or a stand-in.
 */
import type { BatchProgress } from '../workflows/contract';
import { formatDuration } from './fields';

/** A backfill as the command follows it. */
export interface RedisBackfillRun {
  workflowId: string;
  /** Its progress now; null when it cannot say yet (no worker has run it). */
  progress(): Promise<BatchProgress | null>;
  /** Its final progress when it ends; rejects if it failed or was stopped. */
  result(): Promise<BatchProgress>;
}

/** How often a progress line is printed while the backfill runs. */
export const PROGRESS_LINE_INTERVAL_MS = 5_000;

/** Follows the backfill to its end; true if Redis's copy of the players is whole again. */
export async function followRedisBackfill(
  run: RedisBackfillRun,
  line: (text: string) => void,
  intervalMs = PROGRESS_LINE_INTERVAL_MS,
): Promise<boolean> {
  line(`redis backfill ${run.workflowId}: rebuilding Redis's copy of the players from the farms`);
  const result = run.result();
  let timer: NodeJS.Timeout | undefined;
  const tick = () =>
    new Promise<'tick'>((resolve) => {
      timer = setTimeout(() => resolve('tick'), intervalMs);
    });
  try {
    for (;;) {
      const progress = await run.progress().catch(() => null);
      line(progress ? formatBackfillProgress(progress) : 'waiting for a game worker to run it');
      if ((await Promise.race([result.then(() => 'end' as const), tick()])) === 'end') break;
    }
  } finally {
    clearTimeout(timer);
  }
  const final = await result;
  line(formatBackfillProgress(final));
  if (final.state === 'done') {
    line(
      `done: ${final.done} farms copied in ${formatDuration(final.updatedAtMs - final.startedAtMs)}; Redis's copy of the players is whole again`,
    );
    return true;
  }
  return false;
}

/** One line: how far, how fast, how long still, what failed. */
export function formatBackfillProgress(p: BatchProgress): string {
  const percent = p.total > 0 ? Math.floor((p.done / p.total) * 100) : 100;
  const parts = [
    `${p.state}: ${p.done}/${p.total} farms (${percent}%)`,
    `${p.ratePerSecond.toFixed(1)}/s`,
    ...(p.state === 'running' && p.etaMs !== null ? [`ETA ${formatDuration(p.etaMs)}`] : []),
    `${p.failures} failed${p.failureSamples.length > 0 ? ` (${p.failureSamples.join('; ')})` : ''}`,
  ];
  return parts.join(', ');
}
