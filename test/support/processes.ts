/**
 * For the stop tests: an npm script run as a terminal or a supervisor runs it (npm in a process
 * group of its own), the processes it started, and a stand-in for Telegram's Bot API that holds
 * the bot's reply until the test lets it go, so that an update is in flight when a signal comes.
 * Telegram itself is faked here; Temporal and Redis are real.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { type Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

export interface Script {
  npm: ChildProcess;
  /** stdout and stderr as they came, npm's own lines included. */
  output(): string;
  /** npm's own exit (its status after a signal is npm's, not the app's). */
  exited: Promise<void>;
}

/**
 * `npm run <script>` in a process group of its own (as a shell runs a foreground job), so that a
 * signal to the group is what Ctrl-C in a terminal sends.
 */
export function runScript(script: string, env: Record<string, string>): Script {
  let output = '';
  const npm = spawn('npm', ['run', script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  npm.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  npm.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => npm.on('exit', () => resolve()));
  return { npm, output: () => output, exited };
}

export interface CommandRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * A command line run to its end (killed after `timeoutMs`) with only PATH, HOME and `env`: nothing
 * of the test run's environment reaches the configuration it reads.
 */
export function runCommand(
  command: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<CommandRun> {
  return new Promise((done, fail) => {
    const started = Date.now();
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let [stdout, stderr] = ['', ''];
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`still running after ${timeoutMs} ms: ${args.join(' ')}\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Running, not a zombie waiting for a parent to reap it. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The process and everything it started, depth first. */
export function processTree(pid: number): number[] {
  const childrenFile = `/proc/${pid}/task/${pid}/children`;
  if (!existsSync(childrenFile)) return [pid];
  const children = readFileSync(childrenFile, 'utf8').trim();
  return [pid, ...(children ? children.split(/\s+/).map(Number).flatMap(processTree) : [])];
}

export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '(gone)';
  }
}

/** Waits until none of the pids runs; returns those still running at the deadline. */
export async function waitUntilGone(pids: number[], timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && pids.some(isRunning)) {
    await new Promise((r) => setTimeout(r, 100));
  }
  return pids.filter(isRunning).map((pid) => `${pid}: ${commandOf(pid)}`);
}

/** Kills whatever a failed test left behind: the scripts' process groups, and the pids. */
export function killAll(scripts: Script[], pids: number[]) {
  for (const { npm } of scripts) {
    try {
      process.kill(-npm.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const pid of pids) {
    try {
      if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** The exit status our code reported in its last log line ("stopped"), from JSON log lines. */
export function loggedExitStatus(jsonLines: string): number | undefined {
  let status: number | undefined;
  for (const line of jsonLines.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; exitCode?: number };
      if (entry.msg === 'stopped') status = entry.exitCode;
    } catch {
      // a line cut by the process's end
    }
  }
  return status;
}

export interface HeldBotApi {
  url: string;
  token: string;
  /** Methods called, in order. */
  calls: string[];
  /** Resolves when the bot's next sendMessage arrives (it is held until `release`). */
  nextSend(): Promise<void>;
  /** Answers every held sendMessage, and those that come later, at once. */
  release(): void;
  close(): Promise<void>;
}

/**
 * The few Bot API methods a bot start and a /help reply use. sendMessage is held until `release`:
 * the webhook request that caused it stays in flight.
 */
export async function startHeldBotApi(): Promise<HeldBotApi> {
  const token = '123456789:stop-test-token';
  const calls: string[] = [];
  let released = false;
  const held: (() => void)[] = [];
  const sendWaiters: (() => void)[] = [];
  let messageId = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const method = (req.url ?? '').split('/').at(-1) ?? '';
      calls.push(method);
      const answer = (result: unknown) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ok: true, result }));
      };
      if (method === 'getMe') {
        answer({
          id: 123456789,
          is_bot: true,
          first_name: 'farmflow',
          username: 'farmflow_stop_test_bot',
          can_join_groups: false,
          can_read_all_group_messages: false,
          supports_inline_queries: false,
        });
      } else if (method === 'sendMessage') {
        const params = JSON.parse(body || '{}') as { chat_id: number; text: string };
        const send = () =>
          answer({
            message_id: (messageId += 1),
            date: Math.floor(Date.now() / 1000),
            chat: { id: params.chat_id, type: 'private', first_name: 'Player' },
            text: params.text,
          });
        if (released) send();
        else held.push(send);
        sendWaiters.splice(0).forEach((wake) => wake());
      } else {
        answer(true);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    calls,
    nextSend: () => new Promise<void>((resolve) => sendWaiters.push(resolve)),
    release() {
      released = true;
      held.splice(0).forEach((send) => send());
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A /help message from a player: the bot answers it with one sendMessage, no Temporal call. */
export function helpUpdate(updateId: number, userId: number) {
  const from = { id: userId, is_bot: false, first_name: 'Player' };
  return {
    update_id: updateId,
    message: {
      message_id: 1,
      date: Math.floor(Date.now() / 1000),
      chat: { id: userId, type: 'private', first_name: 'Player' },
      from,
      text: '/help',
      entities: [{ type: 'bot_command', offset: 0, length: 5 }],
    },
  };
}

export interface Answer {
  status: number;
  connection: string | undefined;
  /** The server ended the connection after the answer. */
  closed: Promise<void>;
}

/** POSTs an update as Telegram does, on a kept-alive connection of `agent`. */
export function postUpdate(
  url: string,
  secret: string,
  update: unknown,
  agent: Agent,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'x-telegram-bot-api-secret-token': secret,
        },
      },
      (res) => {
        const closed = new Promise<void>((done) => res.socket.once('close', () => done()));
        res.resume();
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            connection: res.headers.connection,
            closed,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(update));
  });
}
