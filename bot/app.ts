/** The bot's HTTP server: one encapsulated plugin per concern. */
import fastify, { type FastifyPluginAsync } from 'fastify';
import type { Logger } from '../infra/logging';
import type { Bot } from 'grammy';
import { closeConnectionsWhenClosing } from './closing';
import type { BotContext } from './context';
import { type DependencyCheck, healthRoutes } from '../infra/health-routes';
import { reportRoutes, type ReportRoutesOptions } from './routes/reports';
import { webhookRoutes } from './routes/webhook';
import { SECURITY_HEADERS, securityHeaders } from './security-headers';

export interface AppDeps {
  logger: Logger;
  /** Readiness: each check resolves when its dependency answers. */
  readinessChecks: Record<string, DependencyCheck>;
  /** In webhook mode: the bot that handles POST /telegram/webhook, and the secret it checks. */
  webhook?: { bot: Bot<BotContext>; secret: string };
  /** POST /api/reports and GET /api/reports/:id, where this process makes reports. */
  reports?: ReportRoutesOptions;
  /**
   * Routes of the caller's own, registered after the app's (`npm start` adds the web chat page
   * this way: the shipped app never imports the local harness).
   */
  extraRoutes?: ExtraRoutes;
}

export type ExtraRoutes = FastifyPluginAsync;

/**
 * A request's headers and body must arrive within this (Telegram sends an update in one piece):
 * a client that trickles them holds a connection and is cut off. The handler's own time does not
 * count; the webhook bounds that itself.
 */
export const REQUEST_TIMEOUT_MS = 10_000;
/**
 * A socket with no traffic at all for this long is closed. Above the webhook's deadline: a socket
 * is silent while its update is handled.
 */
export const CONNECTION_TIMEOUT_MS = 30_000;
/** How often Node looks for requests past REQUEST_TIMEOUT_MS (its default is every 30 s). */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

export async function buildApp(deps: AppDeps) {
  const app = fastify({
    loggerInstance: deps.logger.child({ component: 'http' }),
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    http: {
      requestTimeout: REQUEST_TIMEOUT_MS,
      headersTimeout: REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
  });
  await app.register(securityHeaders, SECURITY_HEADERS);
  closeConnectionsWhenClosing(app);
  await app.register(healthRoutes, { checks: deps.readinessChecks });
  if (deps.webhook) await app.register(webhookRoutes, deps.webhook);
  if (deps.reports) await app.register(reportRoutes, deps.reports);
  if (deps.extraRoutes) await app.register(deps.extraRoutes);
  return app;
}
