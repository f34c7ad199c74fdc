/** Latency samples, percentiles and the lanes that drive a benchmark at a given concurrency. */
import { performance } from 'node:perf_hooks';

export interface Stats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
}

/** Nearest rank: the smallest sample with at least p% of the samples at or below it. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export function summarize(samples: readonly number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
  };
}

/** Latency samples by name, with the wall and CPU time of the runs that produced them. */
export class Samples {
  private readonly byName = new Map<string, number[]>();
  private readonly wallMs = new Map<string, number>();
  private readonly cpuMs = new Map<string, number>();

  add(name: string, ms: number): void {
    const list = this.byName.get(name);
    if (list) list.push(ms);
    else this.byName.set(name, [ms]);
  }

  addWall(name: string, ms: number): void {
    this.wallMs.set(name, (this.wallMs.get(name) ?? 0) + ms);
  }

  /** CPU time of this process (every thread: JS, workflow thread, SDK core) while `name` ran. */
  addCpu(name: string, ms: number): void {
    this.cpuMs.set(name, (this.cpuMs.get(name) ?? 0) + ms);
  }

  get(name: string): readonly number[] {
    return this.byName.get(name) ?? [];
  }

  /** Completed iterations per second of wall time. */
  rate(name: string): number {
    const wall = this.wallMs.get(name);
    return wall ? this.get(name).length / (wall / 1000) : Number.NaN;
  }

  cpuPerIteration(name: string): number {
    const cpu = this.cpuMs.get(name);
    return cpu === undefined ? Number.NaN : cpu / this.get(name).length;
  }
}

/**
 * Runs `lanes` concurrent loops of `iterations` sequential steps; each step's duration goes to
 * `record`. Returns the wall time of the whole run.
 */
export async function runLanes(
  lanes: number,
  iterations: number,
  step: (lane: number, iteration: number) => Promise<void>,
  record: (ms: number) => void,
): Promise<number> {
  const started = performance.now();
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let i = 0; i < iterations; i++) {
        const t0 = performance.now();
        await step(lane, i);
        record(performance.now() - t0);
      }
    }),
  );
  return performance.now() - started;
}

/** A fixed-width text table; the first column is left-aligned, the others right-aligned. */
export function formatTable(rows: string[][]): string {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((row) => row[col]?.length ?? 0)));
  return rows
    .map((row) =>
      row
        .map((cell, col) =>
          col === 0 ? cell.padEnd(widths?.[col] ?? 0) : cell.padStart(widths?.[col] ?? 0),
        )
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
