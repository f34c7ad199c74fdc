/** A pino logger whose JSON lines a test reads, parsed, in the order they were written. */
import { Writable } from 'node:stream';
import type { LogLevel } from '../../infra/config';
import { createLogger, type Logger } from '../../infra/logging';

export interface LogLine extends Record<string, unknown> {
  level: number;
  msg: string;
}

export function captureLogs(level: LogLevel = 'info'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: createLogger(level, stream), lines };
}
