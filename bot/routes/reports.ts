/**
 * Farm reports over HTTP, on the public listener:
 * - `POST /api/reports {"supportCode"}` starts the player's report (or finds the one running)
 *   and answers 202 at once with its id, status and signed link. A support token only.
 * - `GET /api/reports/:id` answers its status (running, done, failed); with `format=png`, a
 *   finished report's picture, read from the report store, as long as it is kept.
 *   A support token, or the link the bot gave the player (`expires` and `sig` in the query).
 * Support tokens only, never ADMIN_TOKEN, on this internet-facing port; failed attempts count
 * per address apart from the admin listener's.
 */
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { NamedToken } from '../../infra/config';
import { isUserHash } from '../../infra/identity';
import type { RedisClient } from '../../store/redis';
import { bearerAuth } from '../admin/bearer-auth';
import { errorSchema } from '../error-schema';
import { isTemporalUnavailable } from '../failures';
import { NoFarmError, REPORT_ID_PATTERN, type ReportLinks, type Reports } from '../reports';
import { normalizeSupportCode } from '../support/story';

export interface ReportRoutesOptions {
  reports: Reports;
  links: ReportLinks;
  /** Accepted as `Authorization: Bearer`: the named support tokens. */
  tokens: NamedToken[];
  redis: RedisClient;
  keyPrefix: string;
}

const statusSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    status: { type: 'string', enum: ['running', 'done', 'failed'] },
    link: { type: 'string' },
    expiresAt: { type: 'string' },
    picture: {
      type: 'object',
      properties: {
        width: { type: 'integer' },
        height: { type: 'integer' },
        bytes: { type: 'integer' },
        sha256: { type: 'string' },
      },
    },
    reason: { type: 'string' },
  },
  required: ['id', 'status'],
} as const;

/** How soon a client should ask again about a running report. */
const RETRY_AFTER_SECONDS = 1;
const GONE = 'no such report (or it is no longer kept)';

export const reportRoutes: FastifyPluginAsync<ReportRoutesOptions> = async (app, options) => {
  const { reports, links } = options;
  const guard = bearerAuth({
    redis: options.redis,
    keyPrefix: options.keyPrefix,
    scope: 'reports-api',
  })(options.tokens, 'a support token');

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) return reply.code(400).send({ error: err.message });
    if (err instanceof NoFarmError) return reply.code(404).send({ error: err.message });
    if (isTemporalUnavailable(err)) {
      req.log.warn({ err }, 'report request failed: Temporal unavailable or too slow');
      return reply
        .code(503)
        .header('retry-after', '5')
        .send({ error: 'Temporal is unavailable or too slow: try again shortly' });
    }
    req.log.error({ err }, 'report request failed');
    return reply.code(500).send({ error: 'the report could not be read: try again later' });
  });

  app.post<{ Body: { supportCode: string } }>(
    '/api/reports',
    {
      onRequest: guard,
      schema: {
        body: {
          type: 'object',
          properties: { supportCode: { type: 'string', maxLength: 64 } },
          required: ['supportCode'],
          additionalProperties: false,
        },
        response: { 202: statusSchema, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (req, reply) => {
      const userHash = normalizeSupportCode(req.body.supportCode);
      if (!isUserHash(userHash)) {
        return reply.code(400).send({ error: 'a support code is 16 characters of a-z and 2-7' });
      }
      const report = await reports.start(userHash);
      req.log.info(
        { reportId: report.reportId, started: report.ours, by: req.caller },
        'report requested over HTTP',
      );
      return reply
        .code(202)
        .header('location', `/api/reports/${report.reportId}`)
        .send({
          id: report.reportId,
          status: 'running',
          link: links.path(report.reportId, report.expiresAtMs),
          expiresAt: new Date(report.expiresAtMs).toISOString(),
        });
    },
  );

  /** A signed link opens its own report; anything else needs a support token. */
  const linkOrToken = async (
    req: FastifyRequest<{
      Params: { id: string };
      Querystring: { expires?: string; sig?: string };
    }>,
    reply: FastifyReply,
  ) => {
    const { expires, sig } = req.query;
    if (sig !== undefined && links.verify(req.params.id, expires, sig)) return;
    if (sig !== undefined && req.headers.authorization === undefined) {
      return reply
        .code(403)
        .send({ error: 'this link is not valid (or has expired): ask the bot for a new report' });
    }
    return guard(req, reply);
  };

  app.get<{
    Params: { id: string };
    Querystring: { format?: 'json' | 'png'; expires?: string; sig?: string };
  }>(
    '/api/reports/:id',
    {
      // After validation: a malformed id or format is a 400, whoever asks.
      preHandler: linkOrToken,
      schema: {
        params: {
          type: 'object',
          properties: { id: { type: 'string', pattern: REPORT_ID_PATTERN.source } },
          required: ['id'],
        },
        querystring: {
          type: 'object',
          properties: {
            format: { type: 'string', enum: ['json', 'png'] },
            expires: { type: 'string', maxLength: 20 },
            sig: { type: 'string', maxLength: 100 },
          },
        },
        response: { 200: statusSchema, 202: statusSchema, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      const found = await reports.status(id);
      switch (found.status) {
        case 'unknown':
          return reply.code(404).send({ error: GONE });
        case 'running':
          return reply
            .code(202)
            .header('retry-after', String(RETRY_AFTER_SECONDS))
            .send({ id, status: 'running' });
        case 'failed':
          return reply.code(200).send({ id, status: 'failed', reason: found.reason });
        case 'done': {
          const { report } = found;
          if (req.query.format === 'png') {
            const png = await reports.picture(id);
            if (!png) return reply.code(404).send({ error: GONE });
            return reply
              .code(200)
              .type('image/png')
              .header('cache-control', 'private, max-age=3600')
              .send(png);
          }
          return reply.code(200).send({
            id,
            status: 'done',
            link: links.path(id, report.expiresAtMs),
            expiresAt: new Date(report.expiresAtMs).toISOString(),
            picture: {
              width: report.width,
              height: report.height,
              bytes: report.bytes,
              sha256: report.sha256,
            },
          });
        }
      }
    },
  );
};
