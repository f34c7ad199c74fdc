/**
 * Farm reports over HTTP, on the public listener:
 * - `POST /api/reports {"supportCode"}` starts the player's report (or finds the one running)
 *   and answers 202 at once with its id, status and signed link. A support token only.
 * - `GET /api/reports/:id` answers its status (running, done, failed); with `format=png`, a
 *   finished report's picture, read from the report store, as long as it is kept.
 *   A support token, or the link the bot gave the player (`expires` and `sig` in the query).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
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
  /** Accepted as `Authorization: Bearer`: the support tokens and the admin token. */
  tokens: NamedToken[];
  redis: RedisClient;
  keyPrefix: string;
  /** How long a finished picture is kept: a link made before it is done lasts as long. */
  keepMs: number;
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

export const reportRoutes: FastifyPluginAsync<ReportRoutesOptions> = async (app, options) => {
  const { reports, links } = options;
  const guard = bearerAuth({ redis: options.redis, keyPrefix: options.keyPrefix })(
    options.tokens,
    'a support token',
  );

  const unavailable = (reply: FastifyReply, err: unknown) => {
    if (!isTemporalUnavailable(err)) throw err;
    return reply
      .code(503)
      .header('retry-after', '5')
      .send({ error: 'Temporal is unreachable: try again shortly' });
  };

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
      try {
        const { reportId, started } = await reports.start(userHash);
        req.log.info({ reportId, started, by: req.caller }, 'report requested over HTTP');
        const expiresAtMs = Date.now() + options.keepMs;
        return reply
          .code(202)
          .header('location', `/api/reports/${reportId}`)
          .send({ id: reportId, status: 'running', link: links.path(reportId, expiresAtMs) });
      } catch (err) {
        if (err instanceof NoFarmError) return reply.code(404).send({ error: err.message });
        return unavailable(reply, err);
      }
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
      onRequest: linkOrToken,
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
            expires: { type: 'string' },
            sig: { type: 'string' },
          },
        },
        response: { 200: statusSchema, 202: statusSchema, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      let found;
      try {
        found = await reports.status(id);
      } catch (err) {
        return unavailable(reply, err);
      }
      switch (found.status) {
        case 'unknown':
          return reply.code(404).send({ error: 'no such report (or it is no longer kept)' });
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
            if (!png)
              return reply.code(404).send({ error: 'no such report (or it is no longer kept)' });
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
