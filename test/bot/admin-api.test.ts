/**
 * The admin API as the bot process serves it, against the run's dev server and the real Redis:
 * on a listener of its own (never the public webhook port), behind the bearer token, with the
 * real schedule operations (list, plan, describe, pause and unpause with a note, trigger,
 * backfill). The test's schedules carry an id prefix of their own and start their workflows on a
 * task queue no worker polls, so nothing else on the shared server sees them.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { connect, createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type AdminApp, buildAdminApp } from '../../bot/admin/app';
import { unusedBatches } from '../support/batches';
import { createLogger } from '../../infra/logging';
import { scheduleDefinitions } from '../../schedules/catalog';
import type { ScheduleDefinition } from '../../schedules/definition';
import { createScheduleOperations } from '../../schedules/engine';
import type { Plan, ScheduleDetails, ScheduleOperations } from '../../schedules/operations';
import { WORKFLOW_TYPES } from '../../workflows/contract';
import { connectRedis, type RedisClient } from '../../store/redis';
import { startTestBot, type TestBot } from '../support/bot';
import { REDIS_URL } from '../support/constants';
import { TEST_TIME_SCALE } from '../support/game';
import { startStallingProxy, type StallingProxy } from '../support/stalling-proxy';
import { connectTestTemporal, type TestTemporal } from '../support/temporal';

const TOKEN = randomBytes(32).toString('hex');
const AUTH = { authorization: `Bearer ${TOKEN}` };

/** Every JSON line a bot writes, to read what the process logged. */
function logCapture() {
  const lines: string[] = [];
  return {
    lines,
    log: {
      level: 'info' as const,
      destination: { write: (line: string) => void lines.push(line) },
    },
  };
}

/** The catalog as the bot's admin API has it: the file's id prefix and unpolled task queue. */
function definitionsOf(bot: TestBot): ScheduleDefinition[] {
  return scheduleDefinitions({
    timeScale: TEST_TIME_SCALE,
    taskQueue: bot.scheduleTaskQueue,
    idPrefix: bot.scheduleIdPrefix,
  });
}

/** Deletes the file's schedules and ends the workflows they started (nobody would run them). */
async function removeSchedules(bot: TestBot, operations: ScheduleOperations) {
  for (const { id } of definitionsOf(bot)) {
    await operations.delete(id).catch(() => undefined);
    for await (const run of bot.t.client.workflow.list({
      query: `WorkflowId STARTS_WITH "${id}" AND ExecutionStatus = "Running"`,
    })) {
      await bot.t.client.workflow
        .getHandle(run.workflowId, run.runId)
        .terminate('admin API test done')
        .catch(() => undefined);
    }
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** True when something accepts TCP connections there. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('admin API on the bot process', () => {
  let bot: TestBot;
  let operations: ScheduleOperations;
  let admin: string;
  const capture = logCapture();
  const definitions = () => definitionsOf(bot);
  const eventId = () =>
    definitions().find((d) => d.workflow.type === WORKFLOW_TYPES.calendarEvent)!.id;
  const tickId = () => definitions().find((d) => d.workflow.type === WORKFLOW_TYPES.marketTick)!.id;

  const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await fetch(`${admin}/admin${path}`, {
      method,
      headers: body === undefined ? AUTH : { ...AUTH, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    return {
      status: res.status,
      headers: res.headers,
      json: (await res.json()) as Record<string, unknown>,
    };
  };

  beforeAll(async () => {
    bot = await startTestBot({ mode: 'webhook', adminToken: TOKEN, log: capture.log });
    admin = bot.service.adminUrl!;
    operations = createScheduleOperations({
      client: bot.t.client,
      definitions: definitionsOf(bot),
      idPrefix: bot.scheduleIdPrefix,
    });
    await operations.apply();
  }, 60_000);

  afterAll(async () => {
    if (bot) await removeSchedules(bot, operations);
    await bot?.close();
  }, 60_000);

  it('listens on a port of its own, never the public one', () => {
    expect(admin).toBe(`http://127.0.0.1:${bot.adminPort}`);
    expect(new URL(admin).port).not.toBe(new URL(bot.service.url).port);
  });

  it('is not reachable on the public webhook port (404 there, with the token), and health probes stay there', async () => {
    for (const path of [
      '/admin/schedules',
      '/admin/schedules/plan',
      `/admin/schedules/${tickId()}`,
    ]) {
      const res = await fetch(`${bot.service.url}${path}`, { headers: AUTH });
      expect(res.status, path).toBe(404);
    }
    const trigger = await fetch(`${bot.service.url}/admin/schedules/${tickId()}/trigger`, {
      method: 'POST',
      headers: AUTH,
    });
    expect(trigger.status).toBe(404);
    expect((await fetch(`${bot.service.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${admin}/healthz`)).status).toBe(404);
    expect((await fetch(`${admin}/readyz`)).status).toBe(404);
  });

  it('refuses a missing or wrong token: 401 with a Bearer challenge', async () => {
    const missing = await fetch(`${admin}/admin/schedules`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="farmflow-admin"');
    for (const wrong of [
      TOKEN.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')),
      `${TOKEN}ab`,
      'short',
    ]) {
      const res = await fetch(`${admin}/admin/schedules`, {
        headers: { authorization: `Bearer ${wrong}` },
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    }
  });

  it('lists every owned schedule with its next run times', async () => {
    const { status, json } = await call('GET', '/schedules');
    expect(status).toBe(200);
    const schedules = json.schedules as { id: string; nextRunTimes: string[]; paused: boolean }[];
    expect(schedules.map((s) => s.id).sort()).toEqual(
      definitions()
        .map((d) => d.id)
        .sort(),
    );
    const tick = schedules.find((s) => s.id === tickId())!;
    expect(tick.nextRunTimes.length).toBeGreaterThan(0);
    for (const time of tick.nextRunTimes)
      expect(Date.parse(time)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('plan: right after apply, nothing to create, update or delete', async () => {
    const { status, json } = await call('GET', '/schedules/plan');
    expect(status).toBe(200);
    const plan = json as unknown as Plan;
    expect(plan.counts).toEqual({
      create: 0,
      update: 0,
      delete: 0,
      unchanged: definitions().length,
    });
    expect(plan.entries.map((e) => e.action)).toEqual(definitions().map(() => 'unchanged'));
  });

  it('describes one schedule; an unknown id is 404', async () => {
    const { status, json } = await call('GET', `/schedules/${eventId()}`);
    expect(status).toBe(200);
    const details = json as unknown as ScheduleDetails;
    expect(details).toMatchObject({
      id: eventId(),
      workflowType: WORKFLOW_TYPES.calendarEvent,
      taskQueue: bot.scheduleTaskQueue,
      defined: true,
    });
    expect(details.args).toHaveLength(1);

    for (const id of [
      `${bot.scheduleIdPrefix}no-such-schedule`,
      'farmflow-market-tick-of-another-catalog',
    ]) {
      const missing = await call('GET', `/schedules/${id}`);
      expect(missing.status, id).toBe(404);
      expect(Object.keys(missing.json)).toEqual(['error']);
      expect(missing.json.error).toContain(id);
    }
  });

  it('pauses and unpauses with a note; the plan shows the pause without counting it', async () => {
    const note = `paused by the admin API test at ${new Date().toISOString()}`;
    const paused = await call('POST', `/schedules/${eventId()}/pause`, { note });
    expect(paused).toMatchObject({ status: 200, json: { id: eventId(), paused: true, note } });
    expect((await call('GET', `/schedules/${eventId()}`)).json).toMatchObject({
      paused: true,
      note,
    });

    const plan = (await call('GET', '/schedules/plan')).json as unknown as Plan;
    expect(plan.counts.update).toBe(0);
    expect(plan.entries.find((e) => e.id === eventId())).toMatchObject({
      action: 'unchanged',
      paused: { note },
    });

    const unpaused = await call('POST', `/schedules/${eventId()}/unpause`, { note: ' back on ' });
    expect(unpaused).toMatchObject({ status: 200, json: { paused: false, note: 'back on' } });
    expect((await call('GET', `/schedules/${eventId()}`)).json).toMatchObject({ paused: false });
  });

  it('a pause needs a note: missing, empty or blank is 400, and nothing changes', async () => {
    for (const body of [{}, { note: '' }, { note: '   ' }, { reason: 'x' }]) {
      const res = await call('POST', `/schedules/${eventId()}/pause`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(Object.keys(res.json)).toEqual(['error']);
      expect(typeof res.json.error).toBe('string');
    }
    expect((await call('GET', `/schedules/${eventId()}`)).json).toMatchObject({ paused: false });
  });

  it("trigger starts the schedule's workflow now", async () => {
    const before = (
      (await call('GET', `/schedules/${eventId()}`)).json as unknown as ScheduleDetails
    ).recentRuns.length;
    const res = await call('POST', `/schedules/${eventId()}/trigger`);
    expect(res).toMatchObject({ status: 202, json: { id: eventId(), status: 'triggered' } });

    const run = await waitFor('a run of the triggered schedule', async () => {
      const details = (await call('GET', `/schedules/${eventId()}`))
        .json as unknown as ScheduleDetails;
      return details.recentRuns.length > before ? details.recentRuns.at(-1) : undefined;
    });
    const started = await bot.t.client.workflow.getHandle(run.workflowId, run.runId).describe();
    expect(started.type).toBe(WORKFLOW_TYPES.calendarEvent);
    expect(started.taskQueue).toBe(bot.scheduleTaskQueue);
    expect(run.workflowId.startsWith(eventId())).toBe(true);
  });

  it('backfill: a bad range is 400 with the reason, a past range is accepted', async () => {
    const at = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();
    const cases: [unknown, RegExp][] = [
      [{ from: at(60_000), to: at(120_000) }, /before its end/],
      [{ from: at(60_000), to: new Date(Date.now() + 3_600_000).toISOString() }, /future/],
      [{ from: 'yesterday', to: at(0) }, /date-time/],
      [{ from: at(60_000) }, /to/],
      [{ from: at(90 * 86_400_000), to: at(0) }, /at most/],
    ];
    for (const [body, reason] of cases) {
      const res = await call('POST', `/schedules/${tickId()}/backfill`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error, JSON.stringify(body)).toMatch(reason);
    }
    const accepted = await call('POST', `/schedules/${tickId()}/backfill`, {
      from: at(120_000),
      to: at(60_000),
    });
    expect(accepted).toMatchObject({ status: 202, json: { id: tickId(), status: 'backfilling' } });
  });

  it('an unknown schedule is 404 on every route', async () => {
    const id = `${bot.scheduleIdPrefix}nothing-here`;
    const range = {
      from: new Date(Date.now() - 120_000).toISOString(),
      to: new Date(Date.now() - 60_000).toISOString(),
    };
    for (const [method, path, body] of [
      ['GET', `/schedules/${id}`, undefined],
      ['POST', `/schedules/${id}/pause`, { note: 'n' }],
      ['POST', `/schedules/${id}/unpause`, { note: 'n' }],
      ['POST', `/schedules/${id}/trigger`, undefined],
      ['POST', `/schedules/${id}/backfill`, range],
    ] as const) {
      const res = await call(method, path, body);
      expect(res.status, path).toBe(404);
      expect(res.json).toEqual({ error: `No schedule "${id}" owned by farmflow.` });
    }
  });

  it('logged every request, and never the token', () => {
    const all = capture.lines.join('');
    expect(all).toContain('"component":"admin-http"');
    expect(all).toContain('request with a wrong token');
    expect(all).toContain('admin API listening');
    expect(all).not.toContain(TOKEN);
  });
});

describe('admin API when Temporal does not answer', () => {
  let t: TestTemporal;
  let redis: RedisClient;
  let proxy: StallingProxy;
  let connection: Connection;
  let client: Client;
  const apps: AdminApp[] = [];

  beforeAll(async () => {
    t = await connectTestTemporal();
    redis = await connectRedis(REDIS_URL, createLogger('silent'));
    const [host, port] = t.address.split(':') as [string, string];
    proxy = await startStallingProxy(() => ({ host, port: Number(port) }));
    connection = await Connection.connect({ address: `127.0.0.1:${proxy.port}` });
    client = new Client({ connection });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    proxy.mode = 'forward';
    await connection?.close();
    await proxy?.close();
    await redis?.close();
    await t?.close();
  }, 60_000);

  /** An admin app whose Temporal calls go through the proxy, as the service builds it. */
  async function proxiedApp(timeoutMs: number, closingGraceMs?: number) {
    const idPrefix = `test-${randomUUID().slice(0, 8)}-`;
    const app = await buildAdminApp({
      logger: createLogger('silent'),
      token: TOKEN,
      redis,
      keyPrefix: `${inject('redisKeyPrefix')}${randomUUID().slice(0, 8)}:`,
      operations: createScheduleOperations({
        client,
        definitions: scheduleDefinitions({
          timeScale: TEST_TIME_SCALE,
          taskQueue: `${t.taskQueue}-schedules`,
          idPrefix,
        }),
        idPrefix,
        timeoutMs,
      }),
      batches: unusedBatches,
      cancellable: (signal, call) => client.withAbortSignal(signal, call),
      closingGraceMs,
    });
    apps.push(app);
    return app;
  }

  /** Accepts connections and requests and never answers; open connections are dropped. */
  async function stall() {
    proxy.mode = 'stall';
    await proxy.refuse();
    await proxy.reopen();
  }

  async function answerAgain() {
    proxy.mode = 'forward';
    await proxy.refuse();
    await proxy.reopen();
  }

  it('answers 503 within its bound, then works again once Temporal answers', async () => {
    const app = await proxiedApp(1_000);
    const plan = () => app.inject({ method: 'GET', url: '/admin/schedules/plan', headers: AUTH });
    expect((await plan()).statusCode).toBe(200);
    await stall();
    const started = Date.now();
    const res = await plan();
    expect(res.statusCode).toBe(503);
    expect(res.json<{ error: string }>().error).toMatch(/^Temporal is unreachable/);
    expect(Date.now() - started).toBeLessThan(5_000);

    await answerAgain();
    await waitFor('Temporal answering again', async () =>
      (await plan()).statusCode === 200 ? true : undefined,
    );
  }, 30_000);

  it('a closing server cancels an operation in flight after its grace: 503, and the close is prompt', async () => {
    const app = await proxiedApp(30_000, 300);
    await stall();
    try {
      // Over a real connection: the server's close waits for the requests on it.
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      const inFlight = fetch(`${url}/admin/schedules`, {
        headers: AUTH,
        signal: AbortSignal.timeout(10_000),
      });
      await sleep(200);
      const started = Date.now();
      await app.close();
      const closedAfter = Date.now() - started;
      const res = await inFlight;
      expect(res.status).toBe(503);
      expect(res.headers.get('connection')).toBe('close');
      expect(((await res.json()) as { error: string }).error).toMatch(/stopping/);
      expect(closedAfter).toBeGreaterThanOrEqual(250);
      expect(closedAfter).toBeLessThan(3_000);
    } finally {
      await answerAgain();
    }
  }, 30_000);
});

describe('admin API without ADMIN_TOKEN', () => {
  it('is off: one clear log line, and nothing listens on the admin port', async () => {
    const capture = logCapture();
    const bot = await startTestBot({ mode: 'webhook', log: capture.log });
    try {
      expect(bot.service.adminUrl).toBeUndefined();
      const lines = capture.lines.filter((line) => line.includes('admin API'));
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({
        level: 30,
        msg: expect.stringMatching(
          /^admin API, support API and console off: neither ADMIN_TOKEN nor SUPPORT_TOKENS is set/,
        ) as unknown,
      });
      expect(await listening(bot.adminPort)).toBe(false);
      expect((await fetch(`${bot.service.url}/admin/schedules`, { headers: AUTH })).status).toBe(
        404,
      );
    } finally {
      await bot.close();
    }
  }, 60_000);
});

describe('support tokens without ADMIN_TOKEN', () => {
  it('start the listener for /support and /console alone: no /admin, one line says so', async () => {
    const capture = logCapture();
    const supportToken = 's'.repeat(40);
    const bot = await startTestBot({
      mode: 'webhook',
      log: capture.log,
      supportTokens: `alice:${supportToken}`,
    });
    try {
      expect(bot.service.adminUrl).toBeDefined();
      expect(
        capture.lines.filter((line) => line.includes('admin API off: ADMIN_TOKEN is not set')),
      ).toHaveLength(1);
      const session = await fetch(`${bot.service.adminUrl}/support/session`, {
        headers: { authorization: `Bearer ${supportToken}` },
      });
      expect(await session.json()).toMatchObject({ name: 'alice', role: 'support' });
      const admin = await fetch(`${bot.service.adminUrl}/admin/schedules`, {
        headers: { authorization: `Bearer ${supportToken}` },
      });
      expect(admin.status).toBe(404);
      expect((await fetch(`${bot.service.adminUrl}/console`)).status).toBe(200);
    } finally {
      await bot.close();
    }
  }, 60_000);
});

describe('admin API when its port is taken', () => {
  let taken: Server;
  let port = 0;
  beforeAll(async () => {
    taken = createServer((socket) => socket.destroy());
    await new Promise<void>((ready) => taken.listen(0, '127.0.0.1', ready));
    port = (taken.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((done) => taken.close(() => done())));

  it('stops the start of a bot that was given ADMIN_TOKEN', async () => {
    await expect(
      startTestBot({ mode: 'polling', adminToken: TOKEN, admin: { port, optional: false } }),
    ).rejects.toThrow(/EADDRINUSE/);
  }, 60_000);

  it("leaves it off with a warning under npm start's own token, and the game runs", async () => {
    const capture = logCapture();
    const bot = await startTestBot({
      mode: 'polling',
      adminToken: TOKEN,
      admin: { port, optional: true },
      log: capture.log,
    });
    try {
      expect(bot.service.adminUrl).toBeUndefined();
      expect((await fetch(`${bot.service.url}/healthz`)).status).toBe(200);
      const warning = capture.lines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((line) => String(line.msg).startsWith('admin API off: it could not start'));
      expect(warning).toMatchObject({ level: 40, port });
    } finally {
      await bot.close();
    }
  }, 60_000);
});

describe('admin API when the bot stops', () => {
  it('closes with the bot service, kept-alive connections included', async () => {
    const bot = await startTestBot({ mode: 'polling', adminToken: TOKEN });
    let stopped = false;
    try {
      const admin = bot.service.adminUrl!;
      // fetch keeps the connection open for the next request.
      expect((await fetch(`${admin}/admin/schedules`, { headers: AUTH })).status).toBe(200);
      const started = Date.now();
      await bot.service.stop();
      stopped = true;
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(await listening(bot.adminPort)).toBe(false);
    } finally {
      if (stopped) {
        await bot.t.close();
        await bot.api.close();
        await bot.redis.close();
      } else await bot.close();
    }
  }, 60_000);
});
