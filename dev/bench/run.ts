/**
 * One benchmark process: configuration, logs and progress lines on stderr, and on stdout the
 * report alone, printed after every shutdown step so that its last line is the last of the output.
 */
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { type Config, loadConfig } from '../../infra/config';
import { createShutdown, type Shutdown } from '../../infra/shutdown';
import { createLogger, type Logger } from '../../infra/logging';
import { installTemporalRuntime } from '../../worker/runtime';

export interface BenchRun {
  config: Config;
  logger: Logger;
  shutdown: Shutdown;
  /** A progress line on stderr, stamped with the seconds since the start. */
  say: (line: string) => void;
}

export interface BenchOutcome {
  report: string;
  /** Something went wrong while measuring: the process exits with 1 after the report. */
  failed: boolean;
}

export function runBench(measure: (run: BenchRun) => Promise<BenchOutcome>): void {
  const config = loadConfig();
  const logger = createLogger('warn', pino.destination(2));
  installTemporalRuntime(logger);
  const shutdown = createShutdown(logger);
  const began = performance.now();
  const say = (line: string) =>
    process.stderr.write(`${((performance.now() - began) / 1000).toFixed(1)} s ${line}\n`);
  let report: string | undefined;
  // Registered first, so it runs last: nothing is printed after the report's last line.
  shutdown.add('report', async () => {
    if (report !== undefined) process.stdout.write(report);
  });
  measure({ config, logger, shutdown, say }).then(
    async (outcome) => {
      report = outcome.report;
      await shutdown.run(outcome.failed ? 1 : 0);
    },
    async (err: unknown) => {
      // Calls cut short by a shutdown (Ctrl-C) are not errors worth printing.
      if (!shutdown.started) say(`bench: ${(err as Error).stack ?? String(err)}`);
      await shutdown.run(1);
    },
  );
}
