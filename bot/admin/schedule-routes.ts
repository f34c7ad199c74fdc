/**
 * The schedule operations over HTTP (mounted under /admin): list, describe, plan, pause and
 * unpause with a note, trigger, backfill. Answers are JSON; every error is `{ error }`: 400 for a
 * bad request (schema or the operation's own check), 404 for a schedule farmflow does not own,
 * 409 for a defined id that Temporal holds under another owner, 503 when Temporal is unreachable
 * or too slow.
 *
 * Once the server is closing, an operation still in flight is given OPERATION_CLOSING_GRACE_MS, then its
 * Temporal calls are cancelled and it is answered 503: a stop never waits out an operation's
 * whole bound (the dev server can hold a schedule's describe for 5 s).
 */
import type { FastifyError, FastifyPluginAsync } from 'fastify';
import {
  ScheduleConflictError,
  ScheduleNotFoundError,
  ScheduleRequestError,
  type ScheduleOperations,
} from '../../schedules/operations';
import { MAX_NOTE_LENGTH } from '../../schedules/engine';
import { isTemporalUnavailable } from '../failures';
import { type Cancellable, cancelWhenClosing } from '../closing';
import { errorSchema } from '../error-schema';

export interface ScheduleRoutesOptions {
  /** Each operation bounds its own Temporal calls (a gRPC deadline); past it, 503. */
  operations: ScheduleOperations;
  /** Runs an operation so that `signal` cancels its Temporal calls (`client.withAbortSignal`). */
  cancellable?: Cancellable;
  /** Tests shorten it; default OPERATION_CLOSING_GRACE_MS. */
  closingGraceMs?: number;
}

/** The answers every route may give besides its own. */
const ERRORS = {
  400: errorSchema,
  401: errorSchema,
  409: errorSchema,
  429: errorSchema,
  503: errorSchema,
} as const;

const idParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 200 } },
  required: ['id'],
} as const;

const recentRunSchema = {
  type: 'object',
  properties: {
    scheduledAt: { type: 'string' },
    startedAt: { type: 'string' },
    workflowId: { type: 'string' },
    runId: { type: 'string' },
  },
  required: ['scheduledAt', 'startedAt', 'workflowId', 'runId'],
} as const;

const summaryProperties = {
  id: { type: 'string' },
  description: { type: 'string' },
  paused: { type: 'boolean' },
  note: { type: 'string' },
  nextRunTimes: { type: 'array', items: { type: 'string' } },
  recentRuns: { type: 'array', items: recentRunSchema },
} as const;

const summarySchema = {
  type: 'object',
  properties: summaryProperties,
  required: Object.keys(summaryProperties),
} as const;

const detailsProperties = {
  ...summaryProperties,
  spec: { type: 'string' },
  overlap: { type: 'string' },
  catchupWindowMs: { type: 'number' },
  workflowType: { type: 'string' },
  taskQueue: { type: 'string' },
  args: { type: 'array', items: {} },
  createdAt: { type: 'string' },
  defined: { type: 'boolean' },
} as const;

const detailsSchema = {
  type: 'object',
  properties: detailsProperties,
  required: Object.keys(detailsProperties),
} as const;

const planSchema = {
  type: 'object',
  properties: {
    entries: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          action: { type: 'string', enum: ['create', 'update', 'delete', 'unchanged'] },
          id: { type: 'string' },
          changes: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                field: { type: 'string' },
                from: { type: ['string', 'null'] },
                to: { type: ['string', 'null'] },
              },
              required: ['field', 'from', 'to'],
            },
          },
          paused: {
            type: ['object', 'null'],
            properties: { note: { type: 'string' } },
            required: ['note'],
          },
        },
        required: ['action', 'id', 'changes', 'paused'],
      },
    },
    counts: {
      type: 'object',
      properties: {
        create: { type: 'integer' },
        update: { type: 'integer' },
        delete: { type: 'integer' },
        unchanged: { type: 'integer' },
      },
      required: ['create', 'update', 'delete', 'unchanged'],
    },
  },
  required: ['entries', 'counts'],
} as const;

const noteBody = {
  type: 'object',
  properties: { note: { type: 'string', minLength: 1, maxLength: MAX_NOTE_LENGTH } },
  required: ['note'],
  additionalProperties: false,
} as const;

const pauseStateSchema = {
  type: 'object',
  properties: { id: { type: 'string' }, paused: { type: 'boolean' }, note: { type: 'string' } },
  required: ['id', 'paused', 'note'],
} as const;

const backfillBody = {
  type: 'object',
  properties: {
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
  },
  required: ['from', 'to'],
  additionalProperties: false,
} as const;

const acceptedSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    status: { type: 'string', enum: ['triggered', 'backfilling'] },
  },
  required: ['id', 'status'],
} as const;

interface IdParams {
  id: string;
}

export const scheduleRoutes: FastifyPluginAsync<ScheduleRoutesOptions> = async (
  app,
  { operations, cancellable, closingGraceMs },
) => {
  const { run, stopping } = cancelWhenClosing(app, cancellable, closingGraceMs);

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) return reply.code(400).send({ error: err.message });
    if (err instanceof ScheduleNotFoundError) return reply.code(404).send({ error: err.message });
    if (err instanceof ScheduleRequestError) return reply.code(400).send({ error: err.message });
    if (err instanceof ScheduleConflictError) return reply.code(409).send({ error: err.message });
    if (isTemporalUnavailable(err)) {
      if (stopping()) {
        return reply.code(503).send({ error: 'the bot process is stopping: try again later' });
      }
      req.log.warn({ err }, 'admin request failed: Temporal unavailable');
      return reply
        .code(503)
        .send({ error: 'Temporal is unreachable or did not answer in time: try again later' });
    }
    // Fastify's own refusals (a body that is not JSON, an unsupported content type, …).
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: err.message });
    }
    req.log.error({ err }, 'admin request failed');
    return reply.code(500).send({ error: 'internal error: see the bot process log' });
  });

  app.get(
    '/schedules',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            properties: { schedules: { type: 'array', items: summarySchema } },
            required: ['schedules'],
          },
          ...ERRORS,
        },
      },
    },
    async () => ({ schedules: await run(() => operations.list()) }),
  );

  // A static segment wins over `:id` in fastify's router, so no schedule id is shadowed but "plan".
  app.get('/schedules/plan', { schema: { response: { 200: planSchema, ...ERRORS } } }, async () =>
    run(() => operations.plan()),
  );

  app.get<{ Params: IdParams }>(
    '/schedules/:id',
    { schema: { params: idParams, response: { 200: detailsSchema, 404: errorSchema, ...ERRORS } } },
    async (req) => run(() => operations.describe(req.params.id)),
  );

  for (const paused of [true, false]) {
    app.post<{ Params: IdParams; Body: { note: string } }>(
      `/schedules/:id/${paused ? 'pause' : 'unpause'}`,
      {
        schema: {
          params: idParams,
          body: noteBody,
          response: { 200: pauseStateSchema, 404: errorSchema, ...ERRORS },
        },
      },
      async (req) => {
        const { id } = req.params;
        const { note } = req.body;
        await run(() => (paused ? operations.pause(id, note) : operations.unpause(id, note)));
        req.log.info(
          { scheduleId: id, paused, by: req.caller },
          'schedule paused state set over the admin API',
        );
        // The state as Temporal now holds it (the note as stored), not as asked.
        const now = await run(() => operations.describe(id));
        return { id, paused: now.paused, note: now.note };
      },
    );
  }

  app.post<{ Params: IdParams }>(
    '/schedules/:id/trigger',
    {
      schema: { params: idParams, response: { 202: acceptedSchema, 404: errorSchema, ...ERRORS } },
    },
    async (req, reply) => {
      const { id } = req.params;
      await run(() => operations.trigger(id));
      req.log.info({ scheduleId: id, by: req.caller }, 'schedule triggered over the admin API');
      return reply.code(202).send({ id, status: 'triggered' });
    },
  );

  app.post<{ Params: IdParams; Body: { from: string; to: string } }>(
    '/schedules/:id/backfill',
    {
      schema: {
        params: idParams,
        body: backfillBody,
        response: { 202: acceptedSchema, 404: errorSchema, ...ERRORS },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      const range = { start: new Date(req.body.from), end: new Date(req.body.to) };
      await run(() => operations.backfill(id, range));
      req.log.info(
        { scheduleId: id, from: range.start.toISOString(), to: range.end.toISOString() },
        'schedule backfill requested over the admin API',
      );
      return reply.code(202).send({ id, status: 'backfilling' });
    },
  );
};
