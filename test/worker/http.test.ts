/**
 * A worker process's listener (WORKER_METRICS_PORT): liveness, readiness that says which part is
 * not ready, and the process's metrics, the Temporal SDK's included. Against the real dev server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../dev/temporal/server';
import { createLogger } from '../../infra/logging';
import { startWorkerHttp } from '../../worker/http';
import { connectTestTemporal, type TestTemporal } from '../support/temporal';

describe("a worker's metrics and probes listener", () => {
  let t: TestTemporal;
  beforeAll(async () => {
    t = await connectTestTemporal();
  });
  afterAll(() => t.close());

  it('is ready while the worker runs, says why not once it stopped, and serves /metrics', async () => {
    const running = await t.startWorker({});
    const port = await freePort();
    const http = await startWorkerHttp({
      host: '127.0.0.1',
      port,
      logger: createLogger('silent'),
      worker: running.worker,
      connection: t.nativeConnection,
    });
    try {
      expect(http.url).toBe(`http://127.0.0.1:${port}`);
      expect((await fetch(`${http.url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${http.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({
        status: 'ok',
        checks: { worker: 'ok', temporal: 'ok' },
      });

      const metrics = await fetch(`${http.url}/metrics`);
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      expect(text).toMatch(/^# TYPE farmflow_notifications_total counter$/m);
      expect(text).toMatch(/^# TYPE process_resident_memory_bytes gauge$/m);
      // The worker's pollers reach the server: the SDK counts their long polls.
      await expect
        .poll(
          async () =>
            (await (await fetch(`${http.url}/metrics`)).text()).match(/^temporal_long_request\{/m),
          {
            timeout: 15_000,
          },
        )
        .not.toBeNull();

      await running.stop();
      const stopped = await fetch(`${http.url}/readyz`);
      expect(stopped.status).toBe(503);
      expect(((await stopped.json()) as { checks: Record<string, string> }).checks.worker).toMatch(
        /^the worker is (stopped|draining|drained|stopping)$/,
      );
    } finally {
      await http.app.close();
    }
  });
});
