import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The rules run inside Temporal workflows, where anything non-deterministic breaks replay.
// ESLint bans Node built-ins there; this also catches clocks and randomness.
const gameDir = join(__dirname, '..', '..', 'game');
const sources = readdirSync(gameDir)
  .filter((name) => name.endsWith('.ts'))
  .map((name) => ({ name, text: readFileSync(join(gameDir, name), 'utf8') }));

const forbidden: [string, RegExp][] = [
  ['the clock', /\bDate\b/],
  ['randomness', /Math\.random|crypto/],
  ['timers', /\bset(Timeout|Interval|Immediate)\b/],
  ['the environment', /\bprocess\b/],
  // pure-rand is a seeded generator: the same seed gives the same numbers on every replay.
  ['Node built-ins or other packages', /from\s+['"](?!\.\/|pure-rand\/)[^'"]*['"]/],
  ['dynamic imports', /\brequire\s*\(|\bimport\s*\(/],
  ['console output', /\bconsole\./],
];

describe('game/ stays deterministic', () => {
  it('has source files to check', () => {
    expect(sources.map((s) => s.name)).toEqual(
      expect.arrayContaining(['crops.ts', 'rules.ts', 'index.ts']),
    );
  });

  for (const [what, pattern] of forbidden) {
    it(`does not use ${what}`, () => {
      const offenders = sources.filter((s) => pattern.test(s.text)).map((s) => s.name);
      expect(offenders).toEqual([]);
    });
  }
});
