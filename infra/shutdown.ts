/**
 * Graceful shutdown for entry points: on SIGINT/SIGTERM, or when the process that started this
 * one is gone, undo what start-up did in reverse order (stop taking work, finish in-flight work,
 * close connections, stop children), then exit.
 *
 * One Ctrl-C often arrives more than once: the terminal sends SIGINT to the whole foreground
 * process group and npm forwards its copy to its child, a few milliseconds apart. So a signal
 * within SAME_SIGNAL_WINDOW_MS of the first is that same stop; a deliberate one later exits at once.
 */
import type { Logger } from './logging';

/** Signals this close to the first are echoes of it (npm re-sends the group's Ctrl-C). */
export const SAME_SIGNAL_WINDOW_MS = 1000;
/** How often the process checks that its parent is still the one that started it. */
const PARENT_CHECK_INTERVAL_MS = 500;
/**
 * A stop that has not finished by then exits anyway (status 1): supervisors (Docker, systemd,
 * Kubernetes) SIGKILL after 10 s by default, and this leaves the exit handlers time to run.
 */
export const STOP_DEADLINE_MS = 8_000;

export type ShutdownSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

export interface ShutdownOptions {
  /** Default SIGINT and SIGTERM; `npm start` adds SIGHUP (its terminal closed). */
  signals?: readonly ShutdownSignal[];
  /** Lines for a person at a terminal ("stopping…", "stopped"); the logger gets them anyway. */
  announce?: (line: string) => void;
  /** Tests shorten it; default STOP_DEADLINE_MS. */
  stopDeadlineMs?: number;
}

export interface Shutdown {
  /** Register right after starting something; steps run last-added first. */
  add(name: string, step: () => Promise<unknown>): void;
  /** Runs the steps now (also on a fatal start-up error). */
  run(exitCode?: number): Promise<never>;
  /** The steps have begun: work cut short from now on fails for that reason alone. */
  readonly started: boolean;
}

export function createShutdown(logger: Logger, options: ShutdownOptions = {}): Shutdown {
  const steps: { name: string; step: () => Promise<unknown> }[] = [];
  const announce = options.announce ?? (() => {});
  let running: Promise<never> | undefined;
  let firstSignalAt = 0;

  const exit = (exitCode: number): never => {
    // The exit status is what a supervisor or a test reads; npm's own is npm's.
    logger.info({ exitCode }, 'stopped');
    logger.flush();
    announce(exitCode === 0 ? 'farmflow stopped.' : `farmflow stopped (exit status ${exitCode}).`);
    process.exit(exitCode);
  };

  const run = (exitCode = 0): Promise<never> => {
    running ??= (async () => {
      clearInterval(parentCheck);
      setTimeout(() => {
        logger.error(
          { deadlineMs: options.stopDeadlineMs ?? STOP_DEADLINE_MS },
          'shutdown took too long: exiting now',
        );
        exit(1);
      }, options.stopDeadlineMs ?? STOP_DEADLINE_MS).unref();
      for (const { name, step } of [...steps].reverse()) {
        try {
          await step();
        } catch (err) {
          logger.error({ err, step: name }, 'shutdown step failed');
          exitCode ||= 1;
        }
      }
      return exit(exitCode);
    })();
    return running;
  };

  for (const signal of options.signals ?? (['SIGINT', 'SIGTERM'] as const)) {
    process.on(signal, () => {
      if (running) {
        if (firstSignalAt && Date.now() - firstSignalAt < SAME_SIGNAL_WINDOW_MS) {
          logger.debug({ signal }, 'signal repeated by the process group: already stopping');
          return;
        }
        logger.warn({ signal }, 'second signal: exiting now');
        announce('Second signal: exiting now.');
        logger.flush();
        process.exit(130);
      }
      firstSignalAt = Date.now();
      logger.info({ signal }, 'shutting down');
      announce('Stopping farmflow… (press Ctrl-C again to exit at once)');
      void run(0);
    });
  }

  // A parent that dies (npm killed, a supervisor's shell gone) cannot pass a signal on: the
  // process is re-parented, to init or to a subreaper, so any change of parent means "stop".
  const startedBy = process.ppid;
  const parentCheck = setInterval(() => {
    if (process.ppid === startedBy || running) return;
    logger.warn(
      { parentPid: startedBy },
      'the process that started this one is gone: shutting down',
    );
    announce('The process that started farmflow is gone: stopping.');
    void run(0);
  }, PARENT_CHECK_INTERVAL_MS);
  parentCheck.unref();

  return {
    add: (name, step) => steps.push({ name, step }),
    run,
    get started() {
      return running !== undefined;
    },
  };
}
