/**
 * The deadline of the update being handled. The webhook answers every update within a bound; when
 * that bound passes it answers 503 and abandons the update: every wait on its behalf (its turn,
 * its workflow's result, a Bot API call) ends at once, and it makes no further Bot API call, so
 * that the redelivery is the only one to reply. The deadline follows the update's async work
 * (AsyncLocalStorage), so the game client and the Bot API transformer see it without every
 * feature passing it along.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface Deadline {
  /** Aborts (with an UpdateAbandonedError) when the deadline passes. */
  signal: AbortSignal;
  /** When it passes, in ms since the epoch. */
  at: number;
  /** When the update came in, in ms since the epoch. */
  receivedAt: number;
  /** Brings the deadline forward to `ms` from now, if that is sooner (the process is stopping). */
  shorten(ms: number): void;
}

/** The update's deadline passed: the webhook answered 503 and Telegram delivers it again. */
export class UpdateAbandonedError extends Error {
  constructor(afterMs: number) {
    super(`The update was not handled within ${afterMs} ms: abandoned, to be delivered again`);
    this.name = 'UpdateAbandonedError';
  }
}

const storage = new AsyncLocalStorage<Deadline>();

/** Runs `fn` under a deadline `ms` from now; `shorten` brings it forward. */
export function withDeadline<T>(ms: number, fn: (deadline: Deadline) => Promise<T>) {
  const controller = new AbortController();
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline: Deadline = {
    signal: controller.signal,
    at: Number.POSITIVE_INFINITY,
    receivedAt: started,
    shorten(inMs) {
      const at = Date.now() + inMs;
      if (at >= deadline.at) return;
      deadline.at = at;
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(new UpdateAbandonedError(at - started)), inMs);
    },
  };
  deadline.shorten(ms);
  const done = storage.run(deadline, () => fn(deadline));
  void done.then(
    () => clearTimeout(timer),
    () => clearTimeout(timer),
  );
  return done;
}

/** The deadline of the update this code runs for, if it has one. */
export function currentDeadline(): Deadline | undefined {
  return storage.getStore();
}

/** Rejects with the signal's reason once it aborts; never settles otherwise. */
export function whenAborted(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}
