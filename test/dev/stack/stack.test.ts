/**
 * `npm run stack` against the machine's PostgreSQL and Redis, with the real Temporal server (built
 * once per machine; `.ci/run` builds it before the tests): it starts with its databases and
 * several history shards, plays an update end to end through the local Bot API server, stops on
 * Ctrl-C with no process left, keeps the farms for its next start, cleans up after a SIGKILL of
 * its own process, and `--reset` drops what it created. Broken PostgreSQL settings end in one
 * clear sentence.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { isAlive } from '../../../infra/pids';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../infra/logging';
import { connectRedis } from '../../../store/redis';
import { ensureTemporalCli } from '../../../dev/temporal/cli';
import { databaseExists, dropDatabases, parsePostgresUrl } from '../../../dev/stack/postgres';
import { stackDatabases } from '../../../dev/stack/stack';
import { ensureTemporalServer } from '../../../dev/stack/temporal-server';

const ROOT = join(__dirname, '..', '..', '..');
const POSTGRES_URL = process.env.POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const postgres = parsePostgresUrl(POSTGRES_URL);

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

let dataDir: string;
let cliPath: string;

const runs: Run[] = [];
/** Dropped at the end whatever happened (after every stack stopped). */
const databasesLeft: string[] = [];

function stack(args: string[], env: Record<string, string> = {}): Run {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'dev/stack/main.ts', ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      POSTGRES_URL,
      DATA_DIR: dataDir,
      TEMPORAL_CLI_PATH: cliPath,
      TELEGRAM_BOT_TOKEN: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const run = { child, output: () => output, exited };
  runs.push(run);
  return run;
}

async function banner(run: Run): Promise<Record<string, string>> {
  const deadline = Date.now() + 150_000;
  while (Date.now() < deadline) {
    if (run.child.exitCode !== null) throw new Error(`the stack exited:\n${run.output()}`);
    const text = run.output();
    if (text.includes('Start over:')) {
      const field = (label: string, pattern: RegExp) =>
        pattern.exec(text.split('\n').find((line) => line.includes(label)) ?? '')?.[1] ?? '';
      return {
        play: field('Play in your browser', /(http:\S+)\//),
        temporal: field('Temporal server:', /(127\.0\.0\.1:\d+)/),
        temporalPid: field('Temporal server:', /pid (\d+)/),
        bot: field('Bot process:', /(http:\S+)/),
        botPid: field('Bot process:', /pid (\d+)/),
        workerPid: field('Worker process:', /pid (\d+)/),
        workerMetrics: field('Worker process:', /metrics and probes: (http:\S+)\/metrics/),
        botMetrics: field('Admin API:', /the bot's metrics: (http:\S+)\)/),
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no banner:\n${run.output()}`);
}

async function chat(play: string, userId: number, text: string) {
  const sent = await fetch(`${play}/play/api/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId, name: 'Stack', text }),
  });
  expect(sent.status).toBe(200);
  await expect
    .poll(
      async () => {
        const view = (await (await fetch(`${play}/play/api/chat/${userId}`)).json()) as {
          messages: { from: string; text: string }[];
        };
        return view.messages.filter((m) => m.from === 'bot').map((m) => m.text);
      },
      { timeout: 30_000 },
    )
    .toEqual(expect.arrayContaining([expect.stringContaining('Your farm')]));
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'farmflow-stack-'));
  cliPath = await ensureTemporalCli({
    configuredPath: process.env.TEMPORAL_CLI_PATH,
    say: () => {},
  });
  // Built here on a machine that has none yet (minutes, once), not inside a start's time limit.
  await ensureTemporalServer({ say: (line) => process.stderr.write(`${line}\n`) });
}, 900_000);

afterAll(async () => {
  // A test that failed midway leaves no stack running.
  for (const run of runs) {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
    await run.exited;
  }
  await dropDatabases(postgres, databasesLeft);
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe('npm run stack', () => {
  const name = `test_${randomBytes(3).toString('hex')}`;
  const { main, visibility } = stackDatabases(name);
  // `--reset` drops them at the end of the test; one that fails before it leaves none either.
  databasesLeft.push(main, visibility);

  it('starts on PostgreSQL with 4 history shards, plays, stops on Ctrl-C with nothing left, starts again with its farms, and --reset drops it', async () => {
    const first = stack(['--name', name]);
    const ports = await banner(first);
    expect(await databaseExists(postgres, main)).toBe(true);
    expect(await databaseExists(postgres, visibility)).toBe(true);

    const connection = await Connection.connect({ address: ports.temporal! });
    try {
      const info = await connection.workflowService.getClusterInfo({});
      expect(info.historyShardCount).toBe(4);
      expect(info.persistenceStore).toBe('postgres12');
      expect(info.visibilityStore).toContain('postgres12');
    } finally {
      await connection.close();
    }
    const ready = (await (await fetch(`${ports.bot}/readyz`)).json()) as {
      checks: Record<string, string>;
    };
    expect(ready.checks).toEqual({ temporal: 'ok', redis: 'ok', webhook: 'ok' });
    await chat(ports.play!, 4242, '/start');

    // Each process serves its metrics; the worker has its own probes.
    const worker = (await (await fetch(`${ports.workerMetrics}/readyz`)).json()) as {
      checks: Record<string, string>;
    };
    expect(worker.checks).toEqual({ worker: 'ok', temporal: 'ok' });
    expect((await fetch(`${ports.workerMetrics}/healthz`)).status).toBe(200);
    const workerMetrics = await (await fetch(`${ports.workerMetrics}/metrics`)).text();
    expect(workerMetrics).toMatch(
      /^temporal_workflow_completed\{.*workflow_type="GameFarmWorkflow"|^temporal_workflow_task_execution_latency_count\{.*task_queue="farmflow-game"/m,
    );
    const botMetrics = await (await fetch(ports.botMetrics!)).text();
    expect(botMetrics).toMatch(/^farmflow_updates_received_total\{kind="command"\} [1-9]/m);
    expect(botMetrics).toMatch(/^farmflow_reply_latency_seconds_count\{kind="command"\} [1-9]/m);

    // Ctrl-C in a terminal: SIGINT to the stack (its children are in groups of their own).
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    for (const pid of [ports.temporalPid, ports.botPid, ports.workerPid]) {
      expect(isAlive(Number(pid))).toBe(false);
    }
    expect(first.output()).toContain('farmflow stopped.');

    // The same stack again: the farm is still there (its secret and databases were kept).
    const second = stack(['--name', name]);
    const again = await banner(second);
    await chat(again.play!, 4242, '/farm');
    const view = (await (await fetch(`${again.play}/play/api/chat/4242`)).json()) as {
      messages: { text: string }[];
    };
    expect(view.messages.at(-1)!.text).toContain('Your farm');

    // SIGKILL, which nothing can catch: the bot and the worker see their parent gone and stop.
    // The Go server cannot; it dies at its next log line (its output went to the dead process),
    // and if it is still running when the stack starts again, that start stops it first.
    second.child.kill('SIGKILL');
    await second.exited;
    await expect
      .poll(() => [isAlive(Number(again.botPid)), isAlive(Number(again.workerPid))], {
        timeout: 20_000,
      })
      .toEqual([false, false]);
    const third = stack(['--name', name]);
    await banner(third);
    // Whether it died by itself or the start stopped it (and said so), it is gone.
    expect(isAlive(Number(again.temporalPid))).toBe(false);
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);

    const reset = stack(['--name', name, '--reset']);
    expect(await reset.exited).toBe(0);
    expect(reset.output()).toContain(`dropped databases ${main} and ${visibility}`);
    expect(await databaseExists(postgres, main)).toBe(false);
    expect(await databaseExists(postgres, visibility)).toBe(false);
    expect(existsSync(join(dataDir, 'stacks', name))).toBe(false);
    const redis = await connectRedis('redis://127.0.0.1:6379', createLogger('silent'));
    try {
      expect(await redis.keys(`${name}:*`)).toEqual([]);
    } finally {
      await redis.close();
    }
  }, 400_000);

  it('says so in one sentence when PostgreSQL is not reachable', async () => {
    const run = stack(['--name', `${name}_x`], {
      POSTGRES_URL: 'postgres://postgres@127.0.0.1:1/postgres',
    });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('PostgreSQL is not reachable at 127.0.0.1:1');
    expect(existsSync(join(dataDir, 'stacks', `${name}_x`, 'stack.pid'))).toBe(false);
  }, 60_000);

  it('says so when the role may not create databases', async () => {
    const role = `farmflow_norights_${randomBytes(3).toString('hex')}`;
    const admin = new pg.Client({ ...postgres });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN NOCREATEDB`);
      const run = stack(['--name', `${name}_y`], {
        POSTGRES_URL: `postgres://${role}@${postgres.host}:${postgres.port}/postgres`,
      });
      expect(await run.exited).toBe(1);
      expect(run.output()).toContain(`PostgreSQL role ${role} may not create databases`);
    } finally {
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  }, 60_000);
});
