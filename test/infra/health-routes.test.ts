/**
 * GET /healthz (the process answers) and GET /readyz (its dependencies do) through `app.inject`:
 * no HTTP listener, no Temporal. The app is `buildApp`'s; the readiness checks are given by each
 * test (one is a real Redis PING), so each can resolve, reject or never answer on cue. The check
 * timeout is not an option of `buildApp` (the app uses the route's 2 s): one test waits it out
 * there, the others register the route on a bare fastify with a short `timeoutMs`.
 */
import fastify from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../bot/app';
import { type DependencyCheck, healthRoutes } from '../../infra/health-routes';
import { createLogger } from '../../infra/logging';
import { connectRedis, type RedisClient } from '../../store/redis';
import { REDIS_URL } from '../support/constants';

const logger = createLogger('silent');

let redis: RedisClient;
beforeAll(async () => {
  redis = await connectRedis(REDIS_URL, logger);
});
afterAll(() => redis?.close());

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function appWith(checks: Record<string, DependencyCheck>) {
  const app = await buildApp({ logger, readinessChecks: checks });
  apps.push(app);
  return app;
}

/** The route alone, with its check timeout set short. */
async function routeWith(checks: Record<string, DependencyCheck>, timeoutMs: number) {
  const app = fastify();
  apps.push(app);
  await app.register(healthRoutes, { checks, timeoutMs });
  return app;
}

const ok: DependencyCheck = async () => 'PONG';
const down =
  (message: string): DependencyCheck =>
  async () => {
    throw new Error(message);
  };
/** A check whose dependency accepted the call and never answers. */
const silent: DependencyCheck = () => new Promise(() => undefined);

/** Counts a check's calls. */
function counted(check: DependencyCheck) {
  const wrapped = Object.assign(
    async () => {
      wrapped.calls += 1;
      return check();
    },
    { calls: 0 },
  );
  return wrapped;
}

describe('/healthz', () => {
  it.each<[string, Record<string, DependencyCheck>]>([
    ['no checks', {}],
    ['every check passing', { temporal: ok, redis: ok }],
    ['a check failing', { temporal: down('connection refused'), redis: ok }],
    ['a check that never answers', { temporal: silent }],
  ])('200 with %s, without running any check', async (_, checks) => {
    const runs = Object.fromEntries(Object.entries(checks).map(([name, c]) => [name, counted(c)]));
    const app = await appWith(runs);
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
    for (const run of Object.values(runs)) expect(run.calls).toBe(0);
  });
});

describe('/readyz', () => {
  it('200 when every check resolves (Redis a real PING), each named ok', async () => {
    const temporal = counted(ok);
    const app = await appWith({ temporal, redis: () => redis.ping() });
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', checks: { temporal: 'ok', redis: 'ok' } });
    expect(temporal.calls).toBe(1);
  });

  it('200 with no checks at all', async () => {
    const app = await appWith({});
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', checks: {} });
  });

  it('503 when one check rejects, naming it with its error; the others still report', async () => {
    const app = await appWith({ temporal: ok, redis: down('connect ECONNREFUSED 127.0.0.1:6379') });
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({
      status: 'unavailable',
      checks: { temporal: 'ok', redis: 'connect ECONNREFUSED 127.0.0.1:6379' },
    });
  });

  it('503 when every check rejects, each named', async () => {
    const app = await appWith({ temporal: down('UNAVAILABLE'), redis: down('closed') });
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({
      status: 'unavailable',
      checks: { temporal: 'UNAVAILABLE', redis: 'closed' },
    });
  });

  it('a check rejecting with a string: 503, the string as its report', async () => {
    const app = await appWith({
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the case under test
      temporal: () => Promise.reject('not reachable'),
      redis: ok,
    });
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({
      status: 'unavailable',
      checks: { temporal: 'not reachable', redis: 'ok' },
    });
  });

  it('a check that throws at once, or rejects with nothing: 503, never a 500', async () => {
    const app = await appWith({
      temporal: () => {
        throw new Error('no connection object');
      },
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the case under test
      redis: () => Promise.reject(undefined),
    });
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({
      status: 'unavailable',
      checks: { temporal: 'no connection object', redis: 'undefined' },
    });
  });

  it('runs the checks on every request: ready, then not, then ready again', async () => {
    let up = true;
    const temporal = counted(async () => {
      if (!up) throw new Error('UNAVAILABLE');
    });
    const app = await appWith({ temporal });
    const statuses: number[] = [];
    for (const state of [true, false, true]) {
      up = state;
      statuses.push((await app.inject({ method: 'GET', url: '/readyz' })).statusCode);
    }
    expect(statuses).toEqual([200, 503, 200]);
    expect(temporal.calls).toBe(3);
  });

  it("503 when a check never answers, within the route's timeout, naming it", async () => {
    const app = await routeWith({ temporal: ok, redis: silent }, 50);
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({
      status: 'unavailable',
      checks: { temporal: 'ok', redis: 'no answer in 50 ms' },
    });
  });

  it('503 when a check never answers, in the app as built (the default timeout, 2 s)', async () => {
    const app = await appWith({ temporal: silent, redis: ok });
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({
      status: 'unavailable',
      checks: { temporal: 'no answer in 2000 ms', redis: 'ok' },
    });
  });
});
