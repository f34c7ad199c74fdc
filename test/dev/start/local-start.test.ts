/**
 * `npm start` as a user runs it: brings up a dev server on a SQLite file, answers /healthz, prints
 * its addresses, stops cleanly on SIGTERM with no child left, and keeps the data for the next run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { isAlive } from '../../../infra/pids';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../../dev/temporal/server';

const ROOT = join(__dirname, '..', '..', '..');

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startLocal(env: Record<string, string>): Started {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'dev/start/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, TEMPORAL_ADDRESS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitForHealth(port: number, started: Started) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (started.child.exitCode !== null) throw new Error(`npm start exited:\n${started.output()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`npm start did not become healthy:\n${started.output()}`);
}

/** The banner comes once the whole service is up, a moment after /healthz first answers. */
async function waitForOutput(pattern: RegExp, started: Started): Promise<RegExpExecArray> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = pattern.exec(started.output());
    if (found) return found;
    if (Date.now() > deadline || started.child.exitCode !== null) {
      throw new Error(`npm start never printed ${pattern}:\n${started.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function childPids(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return children ? children.split(/\s+/).map(Number) : [];
}

describe('npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'farmflow-local-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts everything, stops cleanly, and keeps the game data across restarts', async () => {
    const [devPort, uiPort, httpPort, adminPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const env = {
      DATA_DIR: dataDir,
      TEMPORAL_DEV_PORT: String(devPort),
      TEMPORAL_UI_PORT: String(uiPort),
      HTTP_PORT: String(httpPort),
      ADMIN_HTTP_PORT: String(adminPort),
      TEMPORAL_CLI_PATH: inject('temporalCliPath'),
      REDIS_KEY_PREFIX: inject('redisKeyPrefix'),
      LOG_LEVEL: 'warn',
    };
    const adminUrl = `http://127.0.0.1:${adminPort}/admin`;
    const address = `127.0.0.1:${devPort}`;
    const workflowId = `persisted-${Date.now()}`;

    const first = startLocal(env);
    await waitForHealth(httpPort, first);
    await waitForOutput(new RegExp(`http://127\\.0\\.0\\.1:${httpPort}`), first);
    await waitForOutput(new RegExp(`Web UI: http://127\\.0\\.0\\.1:${uiPort}`), first);
    // Without ADMIN_TOKEN: a token of the session's own, shown to the person, never logged.
    const session = new RegExp(
      `Admin API: +${adminUrl} +\\(token for this session: ([0-9a-f]{64})\\)`,
    );
    const token = (await waitForOutput(session, first))[1]!;
    const schedules = await fetch(`${adminUrl}/schedules`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(schedules.status).toBe(200);
    expect((await fetch(`${adminUrl}/schedules`)).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${httpPort}/admin/schedules`)).status).toBe(404);
    const devServerPids = childPids(first.child.pid!);
    expect(devServerPids.length).toBeGreaterThan(0);

    // The schedules were applied to the dev server at start.
    expect(first.output()).toMatch(/^ {2}Schedules: +4 owned \(apply: 4 created; /m);

    // A workflow nobody runs stays open: it must still be there after a restart.
    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    await client.workflow.start('NobodyRunsThis', {
      taskQueue: 'nobody-polls-this',
      workflowId,
    });
    // A schedule made by hand under a defined id: the next start cannot apply, and plays anyway.
    await client.schedule.getHandle('farmflow-market-tick').delete();
    await client.schedule.create({
      scheduleId: 'farmflow-market-tick',
      spec: { intervals: [{ every: '1h' }] },
      action: { type: 'startWorkflow', workflowType: 'ByHand', taskQueue: 'nobody-polls-this' },
    });
    await connection.close();

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    for (const pid of devServerPids) expect(isAlive(pid)).toBe(false);
    expect(readFileSync(join(dataDir, 'farmflow.log'), 'utf8')).not.toContain(token);

    // With ADMIN_TOKEN: that token, and the banner shows the URL only.
    const adminToken = 'an-admin-token-set-by-the-person-0123456789';
    const second = startLocal({ ...env, ADMIN_TOKEN: adminToken });
    try {
      await waitForHealth(httpPort, second);
      await waitForOutput(new RegExp(`Admin API: +${adminUrl} +\\(token: ADMIN_TOKEN\\)`), second);
      expect(second.output()).not.toContain(adminToken);
      const auth = { authorization: `Bearer ${adminToken}` };
      // Let in by the token: the list shows what farmflow owns, the schedule made by hand aside…
      const listed = await fetch(`${adminUrl}/schedules`, { headers: auth });
      expect(listed.status).toBe(200);
      const { schedules: owned } = (await listed.json()) as { schedules: { id: string }[] };
      expect(owned.length).toBeGreaterThan(0);
      expect(owned.map((s) => s.id)).not.toContain('farmflow-market-tick');
      // …and the plan is refused as the apply was: 409.
      const plan = await fetch(`${adminUrl}/schedules/plan`, { headers: auth });
      expect(plan.status).toBe(409);
      expect(((await plan.json()) as { error: string }).error).toMatch(
        /^Schedule "farmflow-market-tick" exists in Temporal but farmflow does not own it/,
      );
      const again = await Connection.connect({ address });
      const description = await new Client({ connection: again }).workflow
        .getHandle(workflowId)
        .describe();
      expect(description.status.name).toBe('RUNNING');
      expect(second.output()).toMatch(
        /^ {2}Schedules: +not applied \(Schedule "farmflow-market-tick" exists in Temporal but farmflow does not own it: .*\); the game runs without them$/m,
      );
      expect(second.output()).toContain('schedules apply failed');
      await again.close();
    } finally {
      second.child.kill('SIGINT');
      expect(await second.exited).toBe(0);
    }
  }, 120_000);

  it('stops with one clear message when Redis is unreachable', async () => {
    const started = startLocal({
      DATA_DIR: dataDir,
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      TEMPORAL_CLI_PATH: inject('temporalCliPath'),
      HTTP_PORT: String(await freePort()),
    });
    expect(await started.exited).toBe(1);
    expect(started.output()).toContain('Cannot reach Redis at redis://127.0.0.1:');
    expect(started.output()).toContain('set REDIS_URL');
  });
});
