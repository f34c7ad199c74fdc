/**
 * The three entry points stop as a terminal, a supervisor and a dying parent stop them: run
 * through npm (in a process group of their own, as a shell runs them), with a webhook update in
 * flight on a kept-alive connection when the signal comes. Every process the script started is
 * gone within 15 s, the update is answered, its connection closed, and our code exits 0 (npm's
 * own status after a signal is npm's). Telegram is faked (processes.ts: a Bot API that holds the
 * bot's reply); Temporal (a dev server of this file's own, or the one `npm start` runs) and
 * Redis are real.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type DevServer, freePort, startDevServer } from '../../dev/temporal/server';
import { TEST_SECRET } from '../support/game';
import {
  type Script,
  ROOT,
  commandOf,
  helpUpdate,
  killAll,
  loggedExitStatus,
  postUpdate,
  processTree,
  runScript,
  startHeldBotApi,
  waitUntilGone,
} from '../support/processes';

const STOP_BOUND_MS = 15_000;
const WEBHOOK_SECRET = 'stop-test-webhook-secret';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Everything a failed test may leave running. */
const scripts: Script[] = [];
const started: number[] = [];
const dataDir = mkdtempSync(join(tmpdir(), 'farmflow-stop-'));
let temporal: DevServer;

beforeAll(async () => {
  // start:bot and start:worker use the production task queues: on a server of their own, they
  // take no other test file's tasks.
  temporal = await startDevServer({
    cliPath: inject('temporalCliPath'),
    port: 0,
    uiPort: null,
    logFile: join(dataDir, 'temporal.log'),
  });
});

afterAll(async () => {
  killAll(scripts, started);
  await temporal?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The log of the dev server npm start ran, if it ran one: why it failed to start. */
function devServerLog(env: Record<string, string>): string {
  const file = env.DATA_DIR && join(env.DATA_DIR, 'temporal.log');
  return file && existsSync(file) ? readFileSync(file, 'utf8').slice(-4000) : '';
}

function run(name: string, env: Record<string, string>): Script {
  const script = runScript(name, env);
  scripts.push(script);
  return script;
}

function track(script: Script): number[] {
  const pids = processTree(script.npm.pid!);
  started.push(...pids);
  return pids;
}

/**
 * Starts `script` as a webhook bot on the held Bot API, puts a /help update in flight on a
 * kept-alive connection, stops the script with `stop`, lets the reply go a second later, and
 * checks the answer and that everything is gone.
 */
async function stopWithUpdateInFlight(opts: {
  script: string;
  env: Record<string, string>;
  stop: (npmPid: number) => void;
  /** Where our code's JSON log goes: npm start writes a file, the others stdout. */
  jsonLog: (script: Script) => string;
  /** A command line that must be among the started processes (the dev server npm start owns). */
  mustInclude?: RegExp;
}) {
  const api = await startHeldBotApi();
  const httpPort = await freePort();
  const webhookUrl = `http://127.0.0.1:${httpPort}/telegram/webhook`;
  const script = run(opts.script, {
    ...opts.env,
    HTTP_PORT: String(httpPort),
    REDIS_KEY_PREFIX: `${inject('redisKeyPrefix')}stop-${opts.script}:`,
    TELEGRAM_BOT_TOKEN: api.token,
    TELEGRAM_API_ROOT: api.url,
    TELEGRAM_WEBHOOK_URL: webhookUrl,
    TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
    USER_HASH_SECRET: TEST_SECRET,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await expect
      .poll(() => api.calls.includes('setWebhook') || script.npm.exitCode !== null, {
        timeout: 90_000,
        interval: 200,
      })
      .toBe(true);
    expect(script.npm.exitCode, `${script.output()}\n${devServerLog(opts.env)}`).toBeNull();
    const pids = track(script);
    const commands = pids.map(commandOf);
    expect(commands.some((c) => c.includes('node') && c.includes('main.ts'))).toBe(true);
    if (opts.mustInclude) expect(commands.some((c) => opts.mustInclude!.test(c))).toBe(true);

    const replyHeld = api.nextSend();
    const answer = postUpdate(
      webhookUrl,
      WEBHOOK_SECRET,
      helpUpdate(Date.now() % 2 ** 31, 700_000_000 + (Date.now() % 1000)),
      agent,
    );
    await replyHeld;
    const signalledAt = Date.now();
    opts.stop(script.npm.pid!);
    // The update is still in flight when the stop has begun (and Ctrl-C's echoes arrived).
    await sleep(1000);
    api.release();

    const answered = await answer;
    expect(answered.status).toBe(200);
    await expect(
      Promise.race([answered.closed.then(() => 'closed'), sleep(STOP_BOUND_MS).then(() => 'open')]),
    ).resolves.toBe('closed');
    const left = await waitUntilGone(pids, STOP_BOUND_MS - (Date.now() - signalledAt));
    expect(left, script.output()).toEqual([]);
    await script.exited;
    expect(loggedExitStatus(opts.jsonLog(script)), script.output()).toBe(0);
    return script;
  } finally {
    agent.destroy();
    await api.close();
  }
}

describe('npm start stops cleanly', () => {
  const localEnv = async (dir: string) => ({
    DATA_DIR: dir,
    TEMPORAL_ADDRESS: '',
    TEMPORAL_DEV_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    TEMPORAL_CLI_PATH: inject('temporalCliPath'),
  });

  it('on Ctrl-C (SIGINT to the process group, which npm sends again), with an update in flight', async () => {
    const dir = join(dataDir, 'ctrl-c');
    const script = await stopWithUpdateInFlight({
      script: 'start',
      env: await localEnv(dir),
      stop: (npmPid) => process.kill(-npmPid, 'SIGINT'),
      jsonLog: () => readFileSync(join(dir, 'farmflow.log'), 'utf8'),
      mustInclude: /temporal server start-dev/,
    });

    // For a person at a terminal: the banner and the stop in words, no JSON request lines
    // (the request above is in the log file instead).
    const output = script.output();
    expect(output).toContain('farmflow is running');
    expect(output).toContain(join(dir, 'farmflow.log'));
    expect(output).toContain('farmflow stopped.');
    expect(output).not.toContain('"msg":"incoming request"');
    expect(output).not.toMatch(/^\{/m);
    const log = readFileSync(join(dir, 'farmflow.log'), 'utf8');
    expect(log).toMatch(/"url":"\/telegram\/webhook".*"msg":"incoming request"/);
  }, 150_000);

  it('on SIGTERM to the npm process alone, with an update in flight', async () => {
    const dir = join(dataDir, 'sigterm');
    await stopWithUpdateInFlight({
      script: 'start',
      env: await localEnv(dir),
      stop: (npmPid) => process.kill(npmPid, 'SIGTERM'),
      jsonLog: () => readFileSync(join(dir, 'farmflow.log'), 'utf8'),
      mustInclude: /temporal server start-dev/,
    });
  }, 150_000);

  it('shows warnings in readable form on the terminal and keeps them in the JSON log', async () => {
    const dir = join(dataDir, 'warnings');
    const httpPort = await freePort();
    const script = run('start', {
      ...(await localEnv(dir)),
      TEMPORAL_ADDRESS: temporal.address,
      HTTP_PORT: String(httpPort),
      REDIS_KEY_PREFIX: `${inject('redisKeyPrefix')}stop-warnings:`,
    });
    try {
      await expect
        .poll(() => script.output(), { timeout: 90_000, interval: 200 })
        .toContain('farmflow is running');
      track(script);
      // No secret: the webhook refuses it and logs a warning.
      const refused = await fetch(`http://127.0.0.1:${httpPort}/telegram/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ update_id: 1 }),
      });
      expect(refused.status).toBe(401);
      await expect
        .poll(() => script.output(), { timeout: 5000 })
        .toMatch(/WARN.*webhook request with a wrong or missing secret token/);
      expect(script.output()).not.toMatch(/^\{/m);
      expect(readFileSync(join(dir, 'farmflow.log'), 'utf8')).toMatch(
        /"level":40.*"msg":"webhook request with a wrong or missing secret token"/,
      );
    } finally {
      process.kill(script.npm.pid!, 'SIGTERM');
      await script.exited;
    }
  }, 120_000);
});

describe('start:bot and start:worker stop cleanly', () => {
  const prodEnv = () => ({ TEMPORAL_ADDRESS: temporal.address });

  it('start:bot on SIGTERM to npm, with an update in flight on a kept-alive connection', async () => {
    const script = await stopWithUpdateInFlight({
      script: 'start:bot',
      env: prodEnv(),
      stop: (npmPid) => process.kill(npmPid, 'SIGTERM'),
      jsonLog: (s) => s.output(),
    });
    // JSON on stdout, as before.
    expect(script.output()).toMatch(/^\{.*"msg":"bot process ready"/m);
  }, 90_000);

  const startWorker = async () => {
    const script = run('start:worker', {
      ...prodEnv(),
      USER_HASH_SECRET: TEST_SECRET,
      REDIS_KEY_PREFIX: `${inject('redisKeyPrefix')}stop-worker:`,
    });
    await expect
      .poll(() => script.output(), { timeout: 60_000, interval: 200 })
      .toMatch(/"state":"RUNNING","msg":"Worker state changed"/);
    return { script, pids: track(script) };
  };

  it('start:worker on SIGTERM to npm', async () => {
    const { script, pids } = await startWorker();
    process.kill(script.npm.pid!, 'SIGTERM');
    expect(await waitUntilGone(pids, STOP_BOUND_MS), script.output()).toEqual([]);
    expect(loggedExitStatus(script.output())).toBe(0);
  }, 90_000);

  it('start:worker when npm is killed (its parent gone, no signal passed on)', async () => {
    const { script, pids } = await startWorker();
    process.kill(script.npm.pid!, 'SIGKILL');
    expect(await waitUntilGone(pids, STOP_BOUND_MS), script.output()).toEqual([]);
    // npm ran it with the terminal's (here: the test's) stdout, which outlives npm.
    expect(script.output()).toContain('the process that started this one is gone');
    expect(loggedExitStatus(script.output())).toBe(0);
  }, 90_000);
});

describe('shutdown', () => {
  it('takes a signal within a second of the first as the same Ctrl-C, and exits at once on a later one', async () => {
    let output = '';
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/shutdown-child.ts'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    started.push(child.pid!);
    await expect.poll(() => output, { timeout: 30_000 }).toContain('ready');

    child.kill('SIGINT');
    await sleep(20);
    child.kill('SIGINT');
    await sleep(500);
    expect(child.exitCode).toBeNull();
    expect(output).toContain('"msg":"shutting down"');

    await sleep(1000);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(output).toContain('"msg":"second signal: exiting now"');
  }, 60_000);
});
