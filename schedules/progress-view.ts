/**
 * Follows a long-running workflow that answers `progressQuery` (a reward batch, the Redis
 * backfill) until it ends: a live bar in a terminal (cli-progress), one line every 5 s otherwise
 * (a log file, CI, a pipe). Used by `npm run schedules -- progress` and `backfill-redis`.
 */
import { SingleBar } from 'cli-progress';
import type { BatchProgress } from '../workflows/contract';

/** Between lines when stdout is not a terminal. */
export const PROGRESS_LINE_INTERVAL_MS = 5_000;
/** Between queries while the bar is drawn. */
const BAR_REFRESH_MS = 1_000;
/** Queries that fail in a row before the watch gives up. */
const FAILED_READS_LIMIT = 3;

export interface WatchProgressOptions {
  /** One progress query (bounded by the caller); null while no worker has run the workflow. */
  read: () => Promise<BatchProgress | null>;
  /** Where the lines go (and the last line after the bar). */
  write: (text: string) => void;
  /** The terminal to draw a live bar on; absent (not a terminal): a line every interval. */
  barStream?: NodeJS.WritableStream;
  /** Between lines when not a terminal; default PROGRESS_LINE_INTERVAL_MS. */
  lineIntervalMs?: number;
}

const isOver = (progress: BatchProgress) =>
  progress.state === 'done' || progress.state === 'incomplete';

/** A duration for people: 42s, 3m 05s, 2h 10m. */
export function formatEta(ms: number | null): string {
  if (ms === null) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** One line: `running 1200/2000 (60%) 85.3/s ETA 9s failures 0`. */
export function progressLine(progress: BatchProgress): string {
  const percent = progress.total > 0 ? Math.floor((progress.done * 100) / progress.total) : 100;
  const parts = [
    `${progress.state} ${progress.done}/${progress.total} (${percent}%)`,
    `${progress.ratePerSecond.toFixed(1)}/s`,
    `ETA ${formatEta(progress.etaMs)}`,
    `failures ${progress.failures}`,
  ];
  if (progress.failureSamples.length > 0) parts.push(`(${progress.failureSamples.join('; ')})`);
  return parts.join(' ');
}

/** Watches until the workflow ends; returns its last progress. */
export async function watchProgress(options: WatchProgressOptions): Promise<BatchProgress> {
  const intervalMs = options.barStream
    ? BAR_REFRESH_MS
    : (options.lineIntervalMs ?? PROGRESS_LINE_INTERVAL_MS);
  const bar = options.barStream
    ? new SingleBar({
        stream: options.barStream,
        format:
          '{state} [{bar}] {percentage}% | {value}/{total} | {rate}/s | ETA {eta} | failures {failures}',
        hideCursor: true,
      })
    : undefined;
  let barStarted = false;
  let failedReads = 0;
  let progress: BatchProgress | undefined;
  try {
    for (;;) {
      try {
        const read = await options.read();
        failedReads = 0;
        if (read) progress = read;
        else if (!progress && !bar) options.write('waiting for a worker to run it\n');
      } catch (err) {
        failedReads += 1;
        if (failedReads >= FAILED_READS_LIMIT) throw err;
      }
      if (progress) {
        const values = {
          state: progress.state,
          rate: progress.ratePerSecond.toFixed(1),
          eta: formatEta(progress.etaMs),
          failures: progress.failures,
        };
        if (bar) {
          if (!barStarted) bar.start(progress.total, progress.done, values);
          barStarted = true;
          bar.setTotal(progress.total);
          bar.update(progress.done, values);
        } else {
          options.write(`${progressLine(progress)}\n`);
        }
        if (isOver(progress)) return progress;
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  } finally {
    bar?.stop();
    if (bar && progress) options.write(`${progressLine(progress)}\n`);
  }
}
