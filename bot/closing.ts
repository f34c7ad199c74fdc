/**
 * Lets a stopping HTTP server finish without waiting on kept-alive connections. Telegram keeps
 * its webhook connections open; fastify's close() ends only the connections idle at that moment
 * (and answers new requests 503 with `Connection: close`), so a connection with an update in
 * flight would stay open after its answer until the keep-alive timeout (72 s). Once the server
 * is closing, every answer says `Connection: close`, and Node ends the connection after it.
 * Operations still waiting on Temporal are cancelled shortly after (`cancelWhenClosing`).
 */
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';

/** Runs a call so that `signal` cancels its Temporal calls (`client.withAbortSignal`). */
export type Cancellable = <T>(signal: AbortSignal, call: () => Promise<T>) => Promise<T>;

/**
 * How long the admin listener's operations in flight get once it starts closing: within the
 * process's stop deadline (infra/shutdown.ts), with room for the other steps.
 */
export const OPERATION_CLOSING_GRACE_MS = 2_000;

/**
 * Once the server starts closing, calls still in flight get `graceMs`, then their Temporal calls
 * are cancelled: a stop never waits out an operation's whole bound. `run` runs a call that way;
 * `stopping()` says whether the cancel came (its error is then the stop's, not Temporal's).
 */
export function cancelWhenClosing<L extends FastifyBaseLogger>(
  app: FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, L>,
  cancellable: Cancellable | undefined,
  graceMs: number = OPERATION_CLOSING_GRACE_MS,
) {
  const closing = new AbortController();
  app.addHook('preClose', async () => {
    setTimeout(() => closing.abort(), graceMs).unref();
  });
  return {
    run: <T>(call: () => Promise<T>) => (cancellable ? cancellable(closing.signal, call) : call()),
    stopping: () => closing.signal.aborted,
  };
}

export function closeConnectionsWhenClosing<L extends FastifyBaseLogger>(
  app: FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, L>,
): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
}
