/**
 * POST /telegram/webhook: Telegram's updates. The secret header must match (else 401 and nothing
 * starts); the body must be an update with an integer update_id, as sent (else 400 and nothing
 * starts). The answer comes once the update is handled, and within UPDATE_DEADLINE_MS: 200 when
 * its workflow ran and the reply went out (or failed for reasons a retry would not fix); 503 when
 * Temporal or Redis is unreachable, the bot is overloaded, the reply failed with a Bot API 5xx or
 * a transport error, or the deadline passed, so that Telegram delivers the update again later.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Bot } from 'grammy';
import type { Update } from 'grammy/types';
import { z } from 'zod';
import { type Deadline, whenAborted, withDeadline } from '../update-deadline';
import type { BotContext } from '../context';
import { metrics, updateKind } from '../../infra/metrics';
import { inSpan } from '../../infra/tracing';
import { SpanStatusCode, trace } from '@opentelemetry/api';

export const WEBHOOK_PATH = '/telegram/webhook';
export const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

/**
 * An update not handled by then is answered 503 and abandoned (no later reply; the redelivery
 * replies): Telegram waits for the answer, and every update waiting on a connection it holds
 * open waits with it. Below 20 s, with room for the answer itself.
 */
export const UPDATE_DEADLINE_MS = 18_000;
/**
 * Once the server is closing (the process is stopping), an update still in flight is given at most
 * this long before it is answered 503 and abandoned: within the process's own stop deadline
 * (infra/shutdown.ts's STOP_DEADLINE_MS), so that Telegram gets an answer and delivers the update again
 * instead of seeing its connection cut.
 */
export const CLOSING_GRACE_MS = 5_000;

export interface WebhookOptions {
  bot: Bot<BotContext>;
  secret: string;
  /** Tests shorten it. */
  deadlineMs?: number;
}

/**
 * Fastify's Ajv coerces types by default (null, true, "123" and [123] would all pass as an
 * update_id); this schema takes the body as sent. Telegram's other fields are the features' to read.
 */
const updateSchema = z.looseObject({ update_id: z.int().nonnegative() });

function sameSecret(given: unknown, expected: Buffer): boolean {
  if (typeof given !== 'string') return false;
  const buffer = Buffer.from(given);
  return buffer.length === expected.length && timingSafeEqual(buffer, expected);
}

export const webhookRoutes: FastifyPluginAsync<WebhookOptions> = async (
  app,
  { bot, secret, deadlineMs = UPDATE_DEADLINE_MS },
) => {
  const expected = Buffer.from(secret);
  const inFlight = new Set<Deadline>();
  app.addHook('preClose', async () => {
    for (const deadline of inFlight) deadline.shorten(CLOSING_GRACE_MS);
  });

  app.post<{ Body: Update }>(
    WEBHOOK_PATH,
    {
      onResponse: async (_req, reply) => {
        metrics.webhookAnswers.inc({ status: String(reply.statusCode) });
      },
      onRequest: async (req, reply) => {
        if (!sameSecret(req.headers[SECRET_HEADER], expected)) {
          req.log.warn('webhook request with a wrong or missing secret token');
          return reply.code(401).send({ ok: false, error: 'unauthorized' });
        }
      },
      schema: { body: updateSchema },
      validatorCompiler:
        ({ schema }) =>
        (data) => {
          const parsed = (schema as typeof updateSchema).safeParse(data);
          return parsed.success
            ? { value: parsed.data }
            : { error: new Error(parsed.error.message) };
        },
    },
    // One span per delivery: the root of the update's trace (infra/tracing.ts).
    (req, reply) =>
      inSpan(
        'telegram update',
        { 'telegram.update_id': req.body.update_id, 'telegram.update_kind': updateKind(req.body) },
        () => handle(req, reply),
      ),
  );

  async function handle(req: FastifyRequest<{ Body: Update }>, reply: FastifyReply) {
    const updateId = req.body.update_id;
    try {
      // The race answers at the deadline even if some wait inside does not end at its signal.
      await withDeadline(deadlineMs, (deadline) => {
        const { signal } = deadline;
        inFlight.add(deadline);
        const handled = bot.handleUpdate(req.body);
        handled.catch((err: unknown) => {
          if (signal.aborted) req.log.debug({ err, updateId }, 'abandoned update ended');
        });
        return Promise.race([handled, whenAborted(signal)]).finally(() =>
          inFlight.delete(deadline),
        );
      });
      return reply.code(200).send({ ok: true });
    } catch (err) {
      // The boundary rethrows only what a redelivery can fix: a dependency down, overload, a
      // reply Telegram failed to take, the deadline; the rest was answered politely there.
      req.log.warn({ err, updateId }, 'update not handled: to be delivered again');
      trace
        .getActiveSpan()
        ?.setStatus({ code: SpanStatusCode.ERROR, message: 'answered 503: to be delivered again' });
      return reply.code(503).send({ ok: false, error: 'temporarily unavailable' });
    }
  }
};
