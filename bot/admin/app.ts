/**
 * The bot process's second HTTP server, for operators, support and designers only: it listens on
 * ADMIN_HTTP_HOST and ADMIN_HTTP_PORT (loopback by default), never on the public port Telegram's
 * webhook and the health probes use. It serves the admin API under /admin (ADMIN_TOKEN), the
 * support API under /support (a support token or ADMIN_TOKEN) and the console page at /console,
 * which signs in with either.
 */
import fastify, { type FastifyPluginAsync } from 'fastify';
import { metricsRoutes } from '../../infra/metrics';
import { ADMIN_TOKEN_NAME, type NamedToken } from '../../infra/config';
import type { Logger } from '../../infra/logging';
import type { BatchOperations } from '../../schedules/batches';
import type { ScheduleOperations } from '../../schedules/operations';
import type { RedisClient } from '../../store/redis';
import { CONNECTION_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from '../app';
import { type Cancellable, closeConnectionsWhenClosing } from '../closing';
import { SECURITY_HEADERS, securityHeaders } from '../security-headers';
import { batchRoutes } from './batch-routes';
import { bearerAuth, type BearerAuthOptions } from './bearer-auth';
import { scheduleRoutes } from './schedule-routes';
import { CONSOLE_PREFIX, consoleRoutes } from '../support/console-routes';
import { supportRoutes, type SupportRoutesOptions } from '../support/routes';

export const ADMIN_PREFIX = '/admin';
export const SUPPORT_PREFIX = '/support';

/** The largest request body: a note or a time range. */
const BODY_LIMIT_BYTES = 16 * 1024;

export interface AdminAppDeps {
  logger: Logger;
  /** ADMIN_TOKEN; unset: no /admin routes (the support API alone). */
  token: string | undefined;
  /**
   * The support API: its reader and compensations, and SUPPORT_TOKENS (they open /support, as the
   * admin token does). Absent: no /support routes (tests of the admin API alone).
   */
  support?: SupportRoutesOptions & { tokens: readonly NamedToken[] };
  redis: RedisClient;
  keyPrefix: string;
  operations: ScheduleOperations;
  /** Reward batches: list, start (or dry run), progress. */
  batches: BatchOperations;
  /** Lets a closing server cancel the operations in flight (the service: `client.withAbortSignal`). */
  cancellable?: Cancellable;
  /** Tests shorten it; default OPERATION_CLOSING_GRACE_MS. */
  closingGraceMs?: number;
  /** Tests lower it; default FAILURE_LIMIT. */
  failureLimit?: Pick<BearerAuthOptions, 'failures' | 'windowSeconds'>;
}

interface AdminRoutesOptions {
  deps: AdminAppDeps;
  /** The listener's door (bearer-auth.ts): one failure count for both APIs. */
  guard: ReturnType<typeof bearerAuth>;
}

/** Everything under /admin: the token first, then the routes. */
const adminRoutes: FastifyPluginAsync<AdminRoutesOptions> = async (app, { deps, guard }) => {
  app.addHook('onRequest', guard([{ name: ADMIN_TOKEN_NAME, token: deps.token! }], 'ADMIN_TOKEN'));
  await app.register(scheduleRoutes, {
    operations: deps.operations,
    cancellable: deps.cancellable,
    closingGraceMs: deps.closingGraceMs,
  });
  await app.register(batchRoutes, { batches: deps.batches });
  // After the token, like every route here: no path under /admin is answered without it, so
  // nobody finds out which exist by guessing.
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'Not found' }));
};

/** Everything under /support: a support token or the admin token first, then the routes. */
const supportApi: FastifyPluginAsync<AdminRoutesOptions> = async (app, { deps, guard }) => {
  const tokens = [
    ...(deps.token ? [{ name: ADMIN_TOKEN_NAME, token: deps.token }] : []),
    ...deps.support!.tokens,
  ];
  app.addHook('onRequest', guard(tokens, 'a support token'));
  await app.register(supportRoutes, {
    ...deps.support!,
    cancellable: deps.cancellable,
    closingGraceMs: deps.closingGraceMs,
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'Not found' }));
};

export async function buildAdminApp(deps: AdminAppDeps) {
  const app = fastify({
    loggerInstance: deps.logger.child({ component: 'admin-http' }),
    bodyLimit: BODY_LIMIT_BYTES,
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    http: { requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS },
  });
  await app.register(securityHeaders, SECURITY_HEADERS);
  closeConnectionsWhenClosing(app);
  const guard = bearerAuth({ redis: deps.redis, keyPrefix: deps.keyPrefix, ...deps.failureLimit });
  if (deps.token) await app.register(adminRoutes, { prefix: ADMIN_PREFIX, deps, guard });
  if (deps.support) await app.register(supportApi, { prefix: SUPPORT_PREFIX, deps, guard });
  await app.register(consoleRoutes, { prefix: CONSOLE_PREFIX });
  // Open, as Prometheus scrapes it (this listener is never public, and metrics name no player);
  // no log line per scrape.
  await app.register(metricsRoutes, { logLevel: 'warn' });
  return app;
}

export type AdminApp = Awaited<ReturnType<typeof buildAdminApp>>;
