/**
 * `npm start` without TELEGRAM_BOT_TOKEN as a new user runs it: it prints where to play, serves
 * the page there, and a player who sends /start through the page's API gets their farm from the
 * bot over the local Bot API server. Uses the run's dev server (TEMPORAL_ADDRESS) to stay quick;
 * test/dev/start/ covers starting a dev server of its own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../../dev/temporal/server';

const ROOT = join(__dirname, '..', '..', '..');

describe('npm start without a bot token', () => {
  let child: ChildProcess | undefined;
  // npm start writes its JSON log there.
  const dataDir = mkdtempSync(join(tmpdir(), 'farmflow-npm-start-'));
  afterAll(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the page address, serves the page, and answers a player there', async () => {
    const httpPort = await freePort();
    let output = '';
    child = spawn(process.execPath, ['--import', 'tsx', 'dev/start/main.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        TELEGRAM_BOT_TOKEN: '',
        DATA_DIR: dataDir,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        HTTP_PORT: String(httpPort),
        // npm start always serves the admin API: on a port of its own, not a person's 3001.
        ADMIN_HTTP_PORT: String(await freePort()),
        REDIS_KEY_PREFIX: `${inject('redisKeyPrefix')}npm-start:`,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', resolve));

    const url = `http://127.0.0.1:${httpPort}/`;
    await expect
      .poll(() => output, { timeout: 45_000, interval: 200 })
      .toContain(`Play in your browser: ${url}`);
    expect(output).toMatch(/Telegram bot: +local Bot API server at http:\/\/127\.0\.0\.1:\d+/);

    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>farmflow');

    const player = { userId: 1_234_567_890, name: 'Newcomer' };
    const sent = await fetch(`${url}play/api/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...player, text: '/start' }),
    });
    expect(await sent.json()).toMatchObject({ delivered: true });
    await expect
      .poll(
        async () => {
          const chat = (await (await fetch(`${url}play/api/chat/${player.userId}`)).json()) as {
            messages: { from: string; text: string }[];
          };
          return chat.messages.at(-1)?.text ?? '';
        },
        { timeout: 10_000 },
      )
      .toMatch(/Your farm · level 1 · 50 🪙/);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 90_000);
});
