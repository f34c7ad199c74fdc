/**
 * `npm start`'s logger: readable warnings and errors on the terminal, every line as JSON in the
 * file, both written before the call returns (an exit right after loses nothing).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createTerminalLogger } from '../../infra/terminal-log';

/** A terminal that keeps what it was shown, as it is written. */
function collect() {
  let text = '';
  const terminal = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { terminal, shown: () => text };
}

describe("npm start's terminal logger", () => {
  const dir = mkdtempSync(join(tmpdir(), 'farmflow-terminal-log-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('shows warnings readably on the terminal and writes everything as JSON to the file', () => {
    const file = join(dir, 'nested', 'farmflow.log');
    const { terminal, shown } = collect();
    const logger = createTerminalLogger({ level: 'info', file, terminal });

    logger.info({ req: { method: 'POST', url: '/telegram/webhook' } }, 'incoming request');
    logger.warn({ token: 'hidden-token' }, 'something to look at');
    logger.error({ err: new Error('it broke') }, 'a step failed');

    expect(shown()).not.toContain('incoming request');
    expect(shown()).not.toMatch(/^\{/m);
    expect(shown()).toMatch(/WARN.*something to look at/);
    expect(shown()).toMatch(/ERROR.*a step failed/);
    expect(shown()).toContain('Error: it broke');
    expect(shown()).not.toContain('hidden-token');

    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; level: number });
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [30, 'incoming request'],
      [40, 'something to look at'],
      [50, 'a step failed'],
    ]);
    expect(readFileSync(file, 'utf8')).not.toContain('hidden-token');
  });

  it('follows LOG_LEVEL when it is stricter than the terminal default', () => {
    const file = join(dir, 'error-only.log');
    const { terminal, shown } = collect();
    const logger = createTerminalLogger({ level: 'error', file, terminal });
    logger.warn('not shown');
    logger.error('shown');
    expect(shown()).not.toContain('not shown');
    expect(shown()).toContain('shown');
    expect(readFileSync(file, 'utf8')).not.toContain('not shown');
  });
});
