/**
 * Reward batches over HTTP (mounted under /admin, after the token): list, start a grant batch
 * (or preview it with `dryRun`), progress. Errors are `{ error }`: 400 a bad request, 404 no such
 * batch, 409 a batch id that has already run (ids are never reused), 503 Temporal unreachable.
 */
import type { FastifyError, FastifyPluginAsync } from 'fastify';
import {
  BatchAlreadyRanError,
  BatchNotFoundError,
  type BatchOperations,
  BatchRequestError,
  type GrantRequest,
} from '../../schedules/batches';
import { BATCH_ID } from '../../workflows/player-batch';
import { RedisUnavailableError } from '../../store/redis';
import { isTemporalUnavailable } from '../failures';
import { errorSchema } from '../error-schema';

export interface BatchRoutesOptions {
  batches: BatchOperations;
}

const ERRORS = { 400: errorSchema, 401: errorSchema, 429: errorSchema, 503: errorSchema } as const;

const idParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 200 } },
  required: ['id'],
} as const;

const grantBody = {
  type: 'object',
  properties: {
    batchId: { type: 'string', pattern: BATCH_ID.source },
    coins: { type: 'integer', minimum: 0 },
    xp: { type: 'integer', minimum: 0 },
    reason: { type: 'string', minLength: 1, maxLength: 200 },
    message: { type: 'string', minLength: 1, maxLength: 1000 },
    population: {
      type: 'object',
      properties: {
        kind: { type: 'string', enum: ['all', 'joinedBefore'] },
        before: { type: 'string', format: 'date-time' },
      },
      required: ['kind'],
      additionalProperties: false,
    },
    pageSize: { type: 'integer', minimum: 1, maximum: 1000 },
    parallelism: { type: 'integer', minimum: 1, maximum: 64 },
    dryRun: { type: 'boolean' },
  },
  required: ['batchId', 'coins', 'reason', 'population'],
  additionalProperties: false,
} as const;

interface GrantBody {
  batchId: string;
  coins: number;
  xp?: number;
  reason: string;
  message?: string;
  population: { kind: 'all' | 'joinedBefore'; before?: string };
  pageSize?: number;
  parallelism?: number;
  dryRun?: boolean;
}

const progressSchema = {
  type: 'object',
  properties: {
    state: { type: 'string' },
    done: { type: 'integer' },
    total: { type: 'integer' },
    failures: { type: 'integer' },
    failureSamples: { type: 'array', items: { type: 'string' } },
    ratePerSecond: { type: 'number' },
    etaMs: { type: ['number', 'null'] },
    startedAtMs: { type: 'number' },
    updatedAtMs: { type: 'number' },
  },
  required: ['state', 'done', 'total', 'failures', 'ratePerSecond', 'etaMs'],
} as const;

export const batchRoutes: FastifyPluginAsync<BatchRoutesOptions> = async (app, { batches }) => {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) return reply.code(400).send({ error: err.message });
    if (err instanceof BatchRequestError) return reply.code(400).send({ error: err.message });
    if (err instanceof BatchNotFoundError) return reply.code(404).send({ error: err.message });
    if (err instanceof BatchAlreadyRanError) return reply.code(409).send({ error: err.message });
    if (err instanceof RedisUnavailableError || isTemporalUnavailable(err)) {
      req.log.warn({ err }, 'admin batch request failed: Temporal or Redis unavailable');
      return reply.code(503).send({ error: 'Temporal or Redis is unavailable: try again later' });
    }
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: err.message });
    }
    req.log.error({ err }, 'admin batch request failed');
    return reply.code(500).send({ error: 'internal error: see the bot process log' });
  });

  app.get('/batches', { schema: { response: { ...ERRORS } } }, async () => ({
    batches: await batches.list(),
  }));

  app.post<{ Body: GrantBody }>(
    '/batches',
    { schema: { body: grantBody, response: { 404: errorSchema, 409: errorSchema, ...ERRORS } } },
    async (req, reply) => {
      const body = req.body;
      if ((body.population.kind === 'joinedBefore') !== (body.population.before !== undefined)) {
        throw new BatchRequestError(
          "population: give `before` (a time) with kind 'joinedBefore', and only with it",
        );
      }
      const request: GrantRequest = {
        batchId: body.batchId,
        coins: body.coins,
        xp: body.xp ?? 0,
        reason: body.reason,
        ...(body.message !== undefined ? { message: body.message } : {}),
        population:
          body.population.kind === 'joinedBefore'
            ? { kind: 'joinedBefore', beforeMs: Date.parse(body.population.before!) }
            : { kind: 'all' },
        ...(body.pageSize !== undefined ? { pageSize: body.pageSize } : {}),
        ...(body.parallelism !== undefined ? { parallelism: body.parallelism } : {}),
      };
      if (body.dryRun) return reply.code(200).send(await batches.preview(request));
      const started = await batches.start(request);
      req.log.info(
        { batchId: started.batchId, status: started.status },
        'batch started over the admin API',
      );
      return reply.code(started.status === 'started' ? 202 : 200).send(started);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/batches/:id',
    {
      schema: { params: idParams, response: { 200: progressSchema, 404: errorSchema, ...ERRORS } },
    },
    async (req) => batches.progress(req.params.id),
  );
};
