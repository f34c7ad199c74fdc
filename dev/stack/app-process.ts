/**
 * One of the stack's app processes (`bot/main.ts` or `worker/main.ts`), run exactly as production
 * runs it: `node --import tsx <entry>`, configured only through its environment, its pino JSON
 * appended to a log file of its own. It is in a process group of its own, so a terminal's Ctrl-C
 * reaches only the stack, which stops the processes in order; the processes themselves stop when
 * the stack is gone (infra/shutdown.ts watches the parent).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const REPO = resolve(__dirname, '../..');
/** Above the processes' own stop deadline (infra/shutdown.ts, 8 s), as a supervisor's is. */
const STOP_GRACE_MS = 10_000;
const READY_TIMEOUT_MS = 90_000;

export interface AppProcessOptions {
  name: 'bot' | 'worker';
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** The log line (`msg`) the process writes once it is ready. */
  readyMessage: string;
  /** Extra readiness after that line (the bot's /readyz). */
  ready?: () => Promise<boolean>;
}

export interface AppProcess {
  readonly name: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Starts it and waits until it is ready; throws with its last log lines when it is not. */
  start(): Promise<void>;
  /** SIGTERM, as supervisors send it; SIGKILL after the grace. Resolves with the exit status. */
  stop(): Promise<number | null>;
  /** SIGKILL: no cleanup at all, as when a machine dies. */
  kill(): Promise<void>;
  /** Called when it exits without being told to (a crash, a failed start excepted). */
  onExit(listener: (code: number | null) => void): void;
}

const ENTRIES = { bot: 'bot/main.ts', worker: 'worker/main.ts' } as const;

export function appProcess(options: AppProcessOptions): AppProcess {
  mkdirSync(dirname(options.logFile), { recursive: true });
  let child: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  let log: WriteStream | undefined;
  let recent: string[] = [];
  let told = false;
  const listeners: ((code: number | null) => void)[] = [];
  const killOnExit = () => child?.kill('SIGKILL');

  const isRunning = () =>
    child !== undefined && child.exitCode === null && child.signalCode === null;

  const start = async () => {
    if (isRunning()) throw new Error(`the ${options.name} process is already running`);
    log = createWriteStream(options.logFile, { flags: 'a' });
    recent = [];
    told = false;
    const started = spawn(
      process.execPath,
      ['--import', 'tsx', join(REPO, ENTRIES[options.name])],
      {
        cwd: REPO,
        env: options.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    child = started;
    process.on('exit', killOnExit);
    // Node that cannot start (ENOENT, EACCES) ends the start below, through its exit.
    started.on('error', (err) => recent.push(err.message));
    const output = log;
    exited = new Promise((resolve) =>
      started.once('exit', (code, signal) => {
        process.off('exit', killOnExit);
        const status = code ?? (signal ? -1 : null);
        if (!told && ready) for (const listener of listeners) listener(status);
        resolve(status);
      }),
    );
    let sawReady = false;
    let ready = false;
    for (const stream of [started.stdout, started.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        output.write(`${line}\n`);
        recent.push(line);
        if (recent.length > 20) recent.shift();
        if (!sawReady && line.includes(`"msg":"${options.readyMessage}"`)) sawReady = true;
      });
    }
    // 'close' comes after the last of its output: a line read after 'exit' still has a log.
    started.once('close', () => output.end());

    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!isRunning()) {
        throw new Error(
          `the ${options.name} process exited during start (${started.exitCode ?? started.signalCode}); ` +
            `its last lines (${options.logFile}):\n${recent.join('\n')}`,
        );
      }
      if (sawReady && (!options.ready || (await options.ready().catch(() => false)))) {
        ready = true;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await stop();
    throw new Error(
      `the ${options.name} process was not ready within ${READY_TIMEOUT_MS / 1000} s; see ${options.logFile}`,
    );
  };

  const stop = async () => {
    if (!isRunning()) return exited;
    told = true;
    const running = child!;
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), STOP_GRACE_MS);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };

  return {
    name: options.name,
    get pid() {
      return child?.pid;
    },
    get running() {
      return isRunning();
    },
    start,
    stop,
    onExit: (listener) => listeners.push(listener),
    async kill() {
      if (!isRunning()) return;
      told = true;
      child!.kill('SIGKILL');
      await exited;
    },
  };
}
