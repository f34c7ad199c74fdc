/**
 * A worker process's own listener, when WORKER_METRICS_PORT is set (Prometheus and Kubernetes
 * probes reach it; the bot's listeners are the bot's): `/metrics` (the process's registry, the
 * Temporal SDK's metrics included), `/healthz` (the process answers) and `/readyz` (the worker
 * runs and Temporal answers).
 */
import type { NativeConnection, Worker } from '@temporalio/worker';
import fastify from 'fastify';
import { healthRoutes, temporalReachable } from '../infra/health-routes';
import type { Logger } from '../infra/logging';
import { metricsRoutes } from '../infra/metrics';

/** A scrape or a probe arrives whole at once; a client that trickles it is cut off. */
const REQUEST_TIMEOUT_MS = 5_000;
/** A silent connection is closed (Prometheus keeps its own alive between scrapes). */
const CONNECTION_TIMEOUT_MS = 60_000;

export interface WorkerHttpDeps {
  host: string;
  port: number;
  logger: Logger;
  worker: Worker;
  connection: NativeConnection;
}

export async function startWorkerHttp(deps: WorkerHttpDeps) {
  const app = fastify({
    loggerInstance: deps.logger.child({ component: 'worker-http' }),
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    http: { requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS },
  });
  // Scrapes and probes come every few seconds: a line each would drown the worker's log.
  const quiet = { logLevel: 'warn' } as const;
  await app.register(healthRoutes, {
    ...quiet,
    checks: {
      worker: async () => {
        const state = deps.worker.getState();
        if (state !== 'RUNNING') throw new Error(`the worker is ${state.toLowerCase()}`);
      },
      temporal: temporalReachable(deps.connection),
    },
  });
  await app.register(metricsRoutes, quiet);
  try {
    const url = await app.listen({ host: deps.host, port: deps.port });
    return { app, url };
  } catch (err) {
    await app.close();
    throw err;
  }
}
