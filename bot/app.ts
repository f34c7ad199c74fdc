/** The bot's HTTP server: one encapsulated plugin per concern. */
import fastify from 'fastify';
import type { Logger } from '../logging';
import type { Bot } from 'grammy';
import { closeConnectionsWhenClosing } from './closing';
import type { BotContext } from './context';
import { type DependencyCheck, healthRoutes } from './routes/health';
import { webhookRoutes } from './routes/webhook';
import { SECURITY_HEADERS, securityHeaders } from './security-headers';
import { type WebChatOptions, webChatRoutes } from '../web-chat/plugin';

export interface AppDeps {
  logger: Logger;
  /** Readiness: each check resolves when its dependency answers. */
  readinessChecks: Record<string, DependencyCheck>;
  /** In webhook mode: the bot that handles POST /telegram/webhook, and the secret it checks. */
  webhook?: { bot: Bot<BotContext>; secret: string };
  /** Local play only: the web chat page and its API over the local Bot API server. */
  webChat?: WebChatOptions;
}

export async function buildApp(deps: AppDeps) {
  const app = fastify({
    loggerInstance: deps.logger.child({ component: 'http' }),
  });
  await app.register(securityHeaders, SECURITY_HEADERS);
  closeConnectionsWhenClosing(app);
  await app.register(healthRoutes, { checks: deps.readinessChecks });
  if (deps.webhook) await app.register(webhookRoutes, deps.webhook);
  if (deps.webChat) await app.register(webChatRoutes, deps.webChat);
  return app;
}
