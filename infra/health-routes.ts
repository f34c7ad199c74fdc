/** Liveness (`/healthz`: the process answers) and readiness (`/readyz`: its dependencies do). */
import type { NativeConnection } from '@temporalio/worker';
import type { FastifyPluginAsync } from 'fastify';

export type DependencyCheck = () => Promise<unknown>;

/** A readiness probe's gRPC deadline (the route gives each check 2 s). */
const TEMPORAL_CHECK_DEADLINE_MS = 2_000;

/** Temporal answers its gRPC health check; the deadline ends the SDK's own retries too. */
export const temporalReachable =
  (connection: NativeConnection): DependencyCheck =>
  () =>
    connection.withDeadline(Date.now() + TEMPORAL_CHECK_DEADLINE_MS, () =>
      connection.healthService.check({}),
    );

export interface HealthOptions {
  checks: Record<string, DependencyCheck>;
  timeoutMs?: number;
}

const statusSchema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok', 'unavailable'] },
    checks: { type: 'object', additionalProperties: { type: 'string' } },
  },
  required: ['status'],
} as const;

function withTimeout(check: DependencyCheck, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    // A check that throws at once fails like one that rejects.
    Promise.resolve().then(check),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (
  app,
  { checks, timeoutMs = 2000 },
) => {
  app.get('/healthz', { schema: { response: { 200: statusSchema } } }, async () => ({
    status: 'ok' as const,
  }));

  app.get(
    '/readyz',
    { schema: { response: { 200: statusSchema, 503: statusSchema } } },
    async (_req, reply) => {
      const names = Object.keys(checks);
      const results = await Promise.allSettled(
        names.map((name) => withTimeout(checks[name]!, timeoutMs)),
      );
      const report: Record<string, string> = {};
      results.forEach((result, i) => {
        report[names[i]!] =
          result.status === 'fulfilled'
            ? 'ok'
            : result.reason instanceof Error
              ? result.reason.message
              : String(result.reason);
      });
      const ready = results.every((r) => r.status === 'fulfilled');
      return reply
        .code(ready ? 200 : 503)
        .send({ status: ready ? 'ok' : 'unavailable', checks: report });
    },
  );
};
