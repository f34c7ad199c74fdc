/**
 * Graceful shutdown for entry points: on SIGINT/SIGTERM, undo what start-up did in reverse order
 * (stop taking work, finish in-flight work, close connections, stop children), then exit.
 * A second signal exits at once.
 */
import type { Logger } from '../logging';

export interface Shutdown {
  /** Register right after starting something; steps run last-added first. */
  add(name: string, step: () => Promise<unknown>): void;
  /** Runs the steps now (also on a fatal start-up error). */
  run(exitCode?: number): Promise<never>;
  /** The steps have begun: work cut short from now on fails for that reason alone. */
  readonly started: boolean;
}

export function createShutdown(logger: Logger): Shutdown {
  const steps: { name: string; step: () => Promise<unknown> }[] = [];
  let running: Promise<never> | undefined;

  const run = (exitCode = 0): Promise<never> => {
    running ??= (async () => {
      for (const { name, step } of [...steps].reverse()) {
        try {
          await step();
        } catch (err) {
          logger.error({ err, step: name }, 'shutdown step failed');
          exitCode ||= 1;
        }
      }
      logger.info('stopped');
      logger.flush();
      process.exit(exitCode);
    })();
    return running;
  };

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (running) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      logger.info({ signal }, 'shutting down');
      void run(0);
    });
  }
  return {
    add: (name, step) => steps.push({ name, step }),
    run,
    get started() {
      return running !== undefined;
    },
  };
}
