/** The bot's HTTP server: one encapsulated plugin per concern. */
import fastify from 'fastify';
import type { Logger } from '../logging';
import { type DependencyCheck, healthRoutes } from './routes/health';

export interface AppDeps {
  logger: Logger;
  /** Readiness: each check resolves when its dependency answers. */
  readinessChecks: Record<string, DependencyCheck>;
}

export async function buildApp(deps: AppDeps) {
  const app = fastify({
    loggerInstance: deps.logger.child({ component: 'http' }),
  });
  await app.register(healthRoutes, { checks: deps.readinessChecks });
  return app;
}
