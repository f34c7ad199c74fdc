/**
 * The production entry points check their whole configuration before connecting anywhere: run as
 * the npm scripts run them, with Temporal and Redis pointed at a listener that counts connections,
 * they exit 2 naming every missing or invalid variable at once, and nothing was connected to.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../infra/logging';
import { connectRedis } from '../../store/redis';
import { announceSecretFingerprint } from '../../store/secret-fingerprint';
import { REDIS_URL } from '../support/constants';

const ROOT = resolve(__dirname, '../..');

interface Exit {
  code: number | null;
  stderr: string;
  stdout: string;
}

function run(entry: string, env: Record<string, string>): Promise<Exit> {
  return new Promise((done, fail) => {
    // Only what node needs: nothing of the test run's environment reaches the configuration.
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`${entry} still running after 45 s:\n${stderr}${stdout}`));
    }, 45_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, stderr, stdout });
    });
  });
}

describe(
  'production entry points refuse an incomplete configuration before connecting',
  { timeout: 60_000 },
  () => {
    let listener: Server;
    let port = 0;
    let connections = 0;
    beforeAll(async () => {
      listener = createServer((socket) => {
        connections += 1;
        socket.destroy();
      });
      await new Promise<void>((ready) => listener.listen(0, '127.0.0.1', ready));
      port = (listener.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((closed) => listener.close(() => closed())));

    it('start:worker without USER_HASH_SECRET and with an invalid LOG_LEVEL: exit 2, both named', async () => {
      const exit = await run('worker/main.ts', {
        TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
        REDIS_URL: `redis://127.0.0.1:${port}`,
        LOG_LEVEL: 'loud',
      });
      expect(exit.code).toBe(2);
      expect(exit.stderr).toMatch(/^ {2}- USER_HASH_SECRET: required by start:worker/m);
      expect(exit.stderr).toMatch(/^ {2}- LOG_LEVEL: /m);
      expect(exit.stderr).not.toContain('TELEGRAM_BOT_TOKEN');
      expect(connections).toBe(0);
    });

    it('start:worker ignores a bot token it does not need, even a malformed one', async () => {
      const exit = await run('worker/main.ts', {
        TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
        REDIS_URL: `redis://127.0.0.1:${port}`,
        TELEGRAM_BOT_TOKEN: 'not-a-token',
      });
      expect(exit.code).toBe(2);
      expect(exit.stderr).toContain('USER_HASH_SECRET');
      expect(exit.stderr).not.toContain('TELEGRAM_BOT_TOKEN');
      expect(connections).toBe(0);
    });

    it('start:bot with nothing set: exit 2 with every missing variable in one list', async () => {
      const exit = await run('bot/main.ts', { REDIS_URL: `redis://127.0.0.1:${port}` });
      expect(exit.code).toBe(2);
      for (const name of ['TEMPORAL_ADDRESS', 'TELEGRAM_BOT_TOKEN', 'USER_HASH_SECRET']) {
        expect(exit.stderr).toMatch(new RegExp(`^ {2}- ${name}: required by start:bot`, 'm'));
      }
      expect(connections).toBe(0);
    });

    it("start:worker whose secret differs from a live bot's: exit 2 naming USER_HASH_SECRET, before Temporal", async () => {
      const redis = await connectRedis(REDIS_URL, createLogger('warn'));
      const keyPrefix = `farmflow-test:entry-points:${randomUUID().slice(0, 8)}:`;
      const bot = await announceSecretFingerprint({
        redis,
        keyPrefix,
        userHashSecret: 'the-bots-user-hash-secret-0123456',
        role: 'bot',
        logger: createLogger('silent'),
      });
      try {
        const exit = await run('worker/main.ts', {
          TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
          REDIS_URL,
          REDIS_KEY_PREFIX: keyPrefix,
          USER_HASH_SECRET: 'the-workers-other-secret-0123456',
        });
        expect(exit.code).toBe(2);
        expect(exit.stdout).toMatch(/"level":60.*USER_HASH_SECRET differs/);
        expect(exit.stdout).not.toContain('the-workers-other-secret');
        expect(connections).toBe(0);
      } finally {
        await bot.stop();
        for await (const keys of redis.scanIterator({ MATCH: `${keyPrefix}*` }))
          if (keys.length > 0) await redis.del(keys);
        await redis.close();
      }
    });
  },
);
