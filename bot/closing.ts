/**
 * Lets a stopping HTTP server finish without waiting on kept-alive connections. Telegram keeps
 * its webhook connections open; fastify's close() ends only the connections idle at that moment
 * (and answers new requests 503 with `Connection: close`), so a connection with an update in
 * flight would stay open after its answer until the keep-alive timeout (72 s). Once the server
 * is closing, every answer says `Connection: close`, and Node ends the connection after it.
 */
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';

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
