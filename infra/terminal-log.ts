/**
 * `npm start`'s logger, for a person at a terminal: warnings and errors on stderr in readable
 * form, and the whole JSON log (every HTTP request, the SDK's lines) in a file under the data
 * folder. `start:bot` and `start:worker` keep plain pino JSON on stdout (`createLogger`).
 *
 * Both streams write synchronously, so that the last lines before an exit are never lost.
 */
import pino, { type Level, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogLevel } from './config';
import { createLogger } from './logging';

/** The least a person at the terminal is shown, whatever LOG_LEVEL says for the file. */
const TERMINAL_LEVEL: Level = 'warn';

export interface TerminalLoggerOptions {
  /** LOG_LEVEL: what the file gets. */
  level: LogLevel;
  /** The JSON log file (appended to; its folder is made). */
  file: string;
  /** Default stderr; tests pass their own. */
  terminal?: NodeJS.WritableStream | number;
  colorize?: boolean;
  /** What no line may carry (`logSecrets`): scrubbed before either stream sees the line. */
  secrets?: Iterable<string | undefined>;
}

export function createTerminalLogger(opts: TerminalLoggerOptions): Logger {
  const file = pino.destination({ dest: opts.file, sync: true, mkdir: true, append: true });
  const terminal = pretty({
    destination: opts.terminal ?? 2,
    sync: true,
    colorize: opts.colorize ?? (opts.terminal === undefined && process.stderr.isTTY),
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,service',
  });
  // A silent logger writes nothing, whatever its streams' levels.
  const fileLevel: Level = opts.level === 'silent' ? 'fatal' : opts.level;
  const { values } = pino.levels;
  const terminalLevel = values[fileLevel]! > values[TERMINAL_LEVEL]! ? fileLevel : TERMINAL_LEVEL;
  return createLogger(
    opts.level,
    pino.multistream([
      { level: fileLevel, stream: file },
      { level: terminalLevel, stream: terminal },
    ]),
    opts.secrets,
  );
}
