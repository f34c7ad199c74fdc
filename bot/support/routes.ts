/**
 * The support API (mounted under /support on the admin listener, after the token): a player's
 * story by support code, and compensation. Any support token or the admin token opens it; the
 * token's name is who granted a compensation. Errors are `{ error }`: 400 a malformed code or
 * request, 404 a code no player has, 409 an idempotency key used for another compensation, 503
 * Temporal unreachable or too slow, or a compensation's workflow failed (the same key runs it
 * again). A compensation recorded but not yet paid is 202 `pending`.
 */
import type { FastifyError, FastifyPluginAsync } from 'fastify';
import { ADMIN_TOKEN_NAME } from '../../infra/config';
import { isTemporalUnavailable } from '../failures';
import {
  CompensationConflictError,
  CompensationFailedError,
  CompensationRequestError,
  type Compensations,
  IDEMPOTENCY_KEY,
  MAX_REASON_LENGTH,
} from './compensation';
import {
  MalformedSupportCodeError,
  MAX_TIMELINE_LIMIT,
  normalizeSupportCode,
  StoryRequestError,
  type StoryReader,
  UnknownPlayerError,
} from './story';
import { errorSchema } from '../error-schema';
import { type Cancellable, cancelWhenClosing } from '../closing';

export interface SupportRoutesOptions {
  story: StoryReader;
  compensations: Compensations;
  /** Shown to the console, so its form says the cap. */
  grantMaxCoins: number;
  /** Runs a request so that `signal` cancels its Temporal calls (`client.withAbortSignal`). */
  cancellable?: Cancellable;
  /** Once the server is closing, requests in flight get this long, then are cancelled (503). */
  closingGraceMs?: number;
}

const ERRORS = {
  400: errorSchema,
  401: errorSchema,
  404: errorSchema,
  429: errorSchema,
  503: errorSchema,
} as const;

/** Checked by the handler, so that a malformed code gets its own clear message. */
const codeParams = {
  type: 'object',
  properties: { code: { type: 'string', minLength: 1, maxLength: 100 } },
  required: ['code'],
} as const;

const storyQuery = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: MAX_TIMELINE_LIMIT },
    before: { type: 'string', format: 'date-time' },
  },
  additionalProperties: false,
} as const;

const workflowRow = {
  type: 'object',
  properties: {
    type: { type: 'string' },
    id: { type: 'string' },
    runId: { type: 'string' },
    status: { type: 'string' },
    startTime: { type: 'string' },
    closeTime: { type: ['string', 'null'] },
    failed: { type: 'boolean' },
    link: { type: 'string' },
  },
  required: ['type', 'id', 'runId', 'status', 'startTime', 'closeTime', 'failed', 'link'],
} as const;

const timelineEntry = {
  type: 'object',
  properties: {
    time: { type: 'string' },
    kind: { type: 'string' },
    summary: { type: 'string' },
    source: { type: 'string' },
    failed: { type: 'boolean' },
    workflowId: { type: 'string' },
    runId: { type: 'string' },
    batchId: { type: 'string' },
    by: { type: 'string' },
  },
  required: ['time', 'kind', 'summary', 'source'],
} as const;

const farmSchema = {
  type: ['object', 'null'],
  properties: {
    createdAt: { type: 'string' },
    asOf: { type: 'string' },
    coins: { type: 'number' },
    xp: { type: 'number' },
    level: { type: 'number' },
    plots: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          plot: { type: 'number' },
          crop: { type: ['string', 'null'] },
          readyAt: { type: ['string', 'null'] },
          ready: { type: 'boolean' },
        },
      },
    },
    inventory: { type: 'object', additionalProperties: { type: 'number' } },
    preferences: {
      type: 'object',
      properties: { notifications: { type: 'boolean' }, showName: { type: 'boolean' } },
    },
    displayName: { type: ['string', 'null'] },
    reachable: { type: ['boolean', 'null'] },
  },
} as const;

const registrySchema = {
  type: 'object',
  properties: {
    source: { type: 'string' },
    entry: {
      type: ['object', 'null'],
      properties: {
        joinedAt: { type: 'string' },
        farmerNumber: { type: ['number', 'null'] },
        notifications: { type: 'boolean' },
        reachable: { type: 'boolean' },
        displayName: { type: ['string', 'null'] },
      },
    },
    note: { type: 'string' },
  },
  required: ['source', 'entry'],
} as const;

const storySchema = {
  type: 'object',
  properties: {
    userHash: { type: 'string' },
    generatedAt: { type: 'string' },
    farm: farmSchema,
    farmNote: { type: 'string' },
    registry: registrySchema,
    temporalUi: { type: 'string' },
    workflowTotal: { type: 'integer' },
    workflows: { type: 'array', items: workflowRow },
    failures: { type: 'array', items: workflowRow },
    timeline: { type: 'array', items: timelineEntry },
    nextBefore: { type: ['string', 'null'] },
  },
  required: [
    'userHash',
    'farm',
    'registry',
    'temporalUi',
    'workflowTotal',
    'workflows',
    'failures',
    'timeline',
    'nextBefore',
  ],
} as const;

const grantBody = {
  type: 'object',
  properties: {
    coins: { type: 'integer', minimum: 1 },
    reason: { type: 'string', minLength: 1, maxLength: MAX_REASON_LENGTH },
    idempotencyKey: { type: 'string', pattern: IDEMPOTENCY_KEY.source },
  },
  required: ['coins', 'reason', 'idempotencyKey'],
  additionalProperties: false,
} as const;

const compensationSchema = {
  type: 'object',
  properties: {
    status: { type: 'string' },
    grantId: { type: 'string' },
    coins: { type: 'integer' },
    reason: { type: 'string' },
    by: { type: 'string' },
    workflowId: { type: 'string' },
    confirmed: { type: 'boolean' },
  },
  required: ['status', 'grantId', 'coins', 'reason', 'by', 'workflowId', 'confirmed'],
} as const;

const sessionSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    role: { type: 'string', enum: ['admin', 'support'] },
    grantMaxCoins: { type: 'integer' },
  },
  required: ['name', 'role', 'grantMaxCoins'],
} as const;

export const supportRoutes: FastifyPluginAsync<SupportRoutesOptions> = async (app, options) => {
  // As the admin routes: a stop never waits out a story's or a compensation's whole bound.
  const { run, stopping } = cancelWhenClosing(app, options.cancellable, options.closingGraceMs);

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) return reply.code(400).send({ error: err.message });
    if (
      err instanceof MalformedSupportCodeError ||
      err instanceof StoryRequestError ||
      err instanceof CompensationRequestError
    ) {
      return reply.code(400).send({ error: err.message });
    }
    if (err instanceof UnknownPlayerError) return reply.code(404).send({ error: err.message });
    if (err instanceof CompensationConflictError) {
      return reply.code(409).send({ error: err.message });
    }
    if (err instanceof CompensationFailedError) {
      req.log.error({ err }, 'a compensation failed');
      return reply.code(503).send({ error: err.message });
    }
    if (isTemporalUnavailable(err)) {
      if (stopping()) {
        return reply.code(503).send({ error: 'the bot process is stopping: try again later' });
      }
      req.log.warn({ err }, 'support request failed: Temporal unavailable or too slow');
      return reply.code(503).send({ error: 'Temporal is unavailable or too slow: try again' });
    }
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: err.message });
    }
    req.log.error({ err }, 'support request failed');
    return reply.code(500).send({ error: 'internal error: see the bot process log' });
  });

  /** Who the token is: the console shows the designers' part to the admin token only. */
  app.get('/session', { schema: { response: { 200: sessionSchema, ...ERRORS } } }, async (req) => ({
    name: req.caller!,
    role: req.caller === ADMIN_TOKEN_NAME ? 'admin' : 'support',
    grantMaxCoins: options.grantMaxCoins,
  }));

  app.get<{ Params: { code: string }; Querystring: { limit?: number; before?: string } }>(
    '/players/:code',
    {
      schema: {
        params: codeParams,
        querystring: storyQuery,
        response: { 200: storySchema, ...ERRORS },
      },
    },
    async (req) => {
      const { limit, before } = req.query;
      return run(() =>
        options.story.read(req.params.code, {
          ...(limit !== undefined ? { limit } : {}),
          ...(before !== undefined ? { before: new Date(before) } : {}),
        }),
      );
    },
  );

  app.post<{
    Params: { code: string };
    Body: { coins: number; reason: string; idempotencyKey: string };
  }>(
    '/players/:code/grants',
    {
      schema: {
        params: codeParams,
        body: grantBody,
        response: {
          200: compensationSchema,
          201: compensationSchema,
          202: compensationSchema,
          409: errorSchema,
          ...ERRORS,
        },
      },
    },
    async (req, reply) => {
      const compensation = await run(() =>
        options.compensations.grant({
          userHash: req.params.code,
          coins: req.body.coins,
          reason: req.body.reason,
          idempotencyKey: req.body.idempotencyKey,
          by: req.caller!,
        }),
      );
      req.log.info(
        {
          userHash: normalizeSupportCode(req.params.code),
          grantId: compensation.grantId,
          coins: compensation.coins,
          by: compensation.by,
          status: compensation.status,
        },
        'compensation over the support API',
      );
      const code = { granted: 201, 'already granted': 200, pending: 202 }[compensation.status];
      return reply.code(code).send(compensation);
    },
  );
};
