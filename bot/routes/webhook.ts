/**
 * POST /telegram/webhook: Telegram's updates. The secret header must match (else 401 and nothing
 * starts). The answer comes once the update is handled: 200 when its workflow ran and the reply
 * went out (or failed for reasons a retry would not fix), 503 when Temporal or Redis is
 * unreachable, so that Telegram delivers the update again later.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { Bot } from 'grammy';
import type { Update } from 'grammy/types';
import type { BotContext } from '../context';

export const WEBHOOK_PATH = '/telegram/webhook';
export const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

export interface WebhookOptions {
  bot: Bot<BotContext>;
  secret: string;
}

function sameSecret(given: unknown, expected: Buffer): boolean {
  if (typeof given !== 'string') return false;
  const buffer = Buffer.from(given);
  return buffer.length === expected.length && timingSafeEqual(buffer, expected);
}

export const webhookRoutes: FastifyPluginAsync<WebhookOptions> = async (app, { bot, secret }) => {
  const expected = Buffer.from(secret);

  app.post<{ Body: Update }>(
    WEBHOOK_PATH,
    {
      onRequest: async (req, reply) => {
        if (!sameSecret(req.headers[SECRET_HEADER], expected)) {
          req.log.warn('webhook request with a wrong or missing secret token');
          return reply.code(401).send({ ok: false, error: 'unauthorized' });
        }
      },
      schema: {
        body: {
          type: 'object',
          required: ['update_id'],
          properties: { update_id: { type: 'integer', minimum: 0 } },
        },
      },
    },
    async (req, reply) => {
      try {
        await bot.handleUpdate(req.body);
        return reply.code(200).send({ ok: true });
      } catch (err) {
        req.log.warn(
          { err, updateId: req.body.update_id },
          'update not handled: a dependency is unavailable',
        );
        return reply.code(503).send({ ok: false, error: 'temporarily unavailable' });
      }
    },
  );
};
