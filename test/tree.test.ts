/**
 * The tree's own rules: what ships never reaches the local harness (dev/) or the tests, its
 * folders import one another without cycles (type-only imports and re-exports count), lint
 * refuses a harness import in a shipped file, and the image's .dockerignore keeps out the
 * harness but nothing the shipped code needs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import dockerignore from '@balena/dockerignore';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import {
  folderCycles,
  folderOf,
  PRODUCT_ENTRY_POINTS,
  reachableFrom,
  ROOT,
} from './support/import-graph';

const product = reachableFrom(PRODUCT_ENTRY_POINTS);

describe('the shipped product', () => {
  it('reaches no file of the harness or the tests from its entry points', () => {
    const harness = [...product.keys()].filter((file) => ['dev', 'test'].includes(folderOf(file)));
    expect(harness).toEqual([]);
    // The graph is real: the bot process reaches the farm workflow's contract and the rules.
    expect([...product.keys()]).toEqual(
      expect.arrayContaining(['bot/service.ts', 'workflows/contract.ts', 'game/rules.ts']),
    );
  });

  it('has no cycles between its folders', () => {
    expect(folderCycles(product)).toEqual([]);
  });

  it('finds a cycle when there is one (the check itself)', () => {
    const graph = new Map([
      ['a/x.ts', ['b/y.ts']],
      ['b/y.ts', ['c/z.ts']],
      ['c/z.ts', ['a/w.ts']],
      ['a/w.ts', []],
    ]);
    expect(folderCycles(graph)).toEqual([
      ['a/x.ts → b/y.ts', 'b/y.ts → c/z.ts', 'c/z.ts → a/w.ts'],
    ]);
  });
});

describe('lint', () => {
  it('refuses an import of the harness in a shipped file', async () => {
    const eslint = new ESLint({ cwd: ROOT });
    const file = 'bot/app.ts';
    const text = `${readFileSync(join(ROOT, file), 'utf8')}import '../dev/web-chat/plugin';\n`;
    const [result] = await eslint.lintText(text, { filePath: join(ROOT, file) });
    const messages = result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
    expect(messages).toEqual([expect.stringMatching(/^no-restricted-imports: .*local harness/)]);
  }, 60_000);
});

describe('the Docker image', () => {
  const ignored = dockerignore().add(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));

  it('gets every file the shipped code reaches, and what it installs and builds with', () => {
    const needed = [
      ...product.keys(),
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      // The console's page, read at start (bot/support/console-routes.ts).
      'bot/support/console/index.html',
      'bot/support/console/console.mjs',
      'bot/support/console/console.css',
    ];
    expect(needed.filter((file) => ignored.ignores(file))).toEqual([]);
  });

  it('gets no harness, tests or secrets', () => {
    for (const file of ['dev/start/main.ts', 'dev/bot-api/index.ts', 'test/tree.test.ts', '.env'])
      expect(ignored.ignores(file), file).toBe(true);
  });
});
