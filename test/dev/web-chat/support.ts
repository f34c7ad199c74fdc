/**
 * Local play as `npm start` wires it, for one test file: the local Bot API server and its players
 * (dev/start/telegram.ts), the bot service in webhook mode serving the web chat page, and a farm
 * worker, on the run's dev server under a Redis key prefix of the file's own; plus headless
 * Chromium to open the page with.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { expect, inject } from 'vitest';
import { type BotService, startBotService } from '../../../bot/service';
import { parseConfig } from '../../../infra/config';
import {
  type LocalTelegram,
  LOCAL_BOT_TOKEN,
  startLocalTelegram,
} from '../../../dev/start/telegram';
import { createLogger } from '../../../infra/logging';
import { connectRedis, type RedisClient } from '../../../store/redis';
import { freePort } from '../../../dev/temporal/server';
import { webChatExtraRoutes } from '../../../dev/web-chat/plugin';
import { REDIS_URL } from '../../support/constants';
import { startTestGameWorker, TEST_SECRET, TEST_TIME_SCALE } from '../../support/game';
import { connectTestTemporal, type RunningWorker, type TestTemporal } from '../../support/temporal';

export interface WebChatStack {
  /** The page: http://127.0.0.1:PORT */
  url: string;
  local: LocalTelegram;
  service: BotService;
  /** The run's dev server, with the file's game task queue (farms and the scheduled workflows). */
  t: TestTemporal;
  redis: RedisClient;
  keyPrefix: string;
  /** The farms' worker (game task queue): a test stops it to see the game without one. */
  startGameWorker(): Promise<RunningWorker>;
  gameWorker: RunningWorker;
  /** Calls a Bot API method as the bot does, for messages the game never sends. */
  callAsBot(method: string, params: Record<string, unknown>): Promise<unknown>;
  close(): Promise<void>;
}

export interface WebChatStackOptions {
  /** More environment for the bot service, e.g. ADMIN_TOKEN, SUPPORT_TOKENS. */
  env?: Record<string, string>;
  /** The admin listener on a free port of its own (`service.adminUrl`). */
  adminListener?: boolean;
  /** The admin API's schedules: an id prefix of the file's own, on the file's game task queue. */
  schedulesIdPrefix?: string;
}

/** Ports picked free can be taken by a neighbour before the service listens: tried again. */
const START_ATTEMPTS = 3;

export async function startWebChatStack(options: WebChatStackOptions = {}): Promise<WebChatStack> {
  const t = await connectTestTemporal();
  const keyPrefix = `${inject('redisKeyPrefix')}${randomUUID().slice(0, 8)}:`;
  const logger = createLogger('warn');
  const redis = await connectRedis(REDIS_URL, logger);
  const startGameWorker = () => startTestGameWorker(t, { redis, keyPrefix, logger });
  const gameWorker = await startGameWorker();
  const start = async () => {
    const config = parseConfig({
      TEMPORAL_ADDRESS: t.address,
      REDIS_URL,
      REDIS_KEY_PREFIX: keyPrefix,
      HTTP_PORT: String(await freePort()),
      ...(options.adminListener ? { ADMIN_HTTP_PORT: String(await freePort()) } : {}),
      USER_HASH_SECRET: TEST_SECRET,
      GAME_TIME_SCALE: String(TEST_TIME_SCALE),
      SHARED_FILES_DIR: t.sharedFilesDir,
      ...options.env,
    });
    const local = await startLocalTelegram(config);
    try {
      const service = await startBotService({
        config: local.config,
        logger,
        redis,
        connection: t.nativeConnection,
        workflowBundle: { codePath: inject('workflowBundlePath') },
        // Queues of the file's own, the notifications' too: another file's bot would send them to
        // its own local Bot API server.
        taskQueues: {
          game: t.taskQueue,
          mainMenu: `${t.taskQueue}-menu`,
          notifications: `${t.taskQueue}-notifications`,
          reports: `${t.taskQueue}-reports`,
        },
        extraRoutes: webChatExtraRoutes({ players: local.players }),
        ...(options.schedulesIdPrefix !== undefined
          ? { schedules: { idPrefix: options.schedulesIdPrefix, taskQueue: t.taskQueue } }
          : {}),
      });
      return { local, service };
    } catch (err) {
      await local.close();
      throw err;
    }
  };
  let started: Awaited<ReturnType<typeof start>>;
  for (let attempt = 1; ; attempt += 1) {
    try {
      started = await start();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === START_ATTEMPTS) {
        throw err;
      }
    }
  }
  const { local, service } = started;
  return {
    url: service.url,
    local,
    service,
    t,
    startGameWorker,
    gameWorker,
    redis,
    keyPrefix,
    async callAsBot(method, params) {
      const response = await fetch(`${local.api.url}/bot${LOCAL_BOT_TOKEN}/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(params),
      });
      const body = (await response.json()) as { ok: boolean; result?: unknown };
      if (!body.ok) throw new Error(`${method} failed: ${JSON.stringify(body)}`);
      return body.result;
    },
    async close() {
      await service.stop();
      await local.close();
      await t.close();
      await redis.close();
    },
  };
}

/**
 * The chat's screens, the newest last: the bot's messages but its notifications (crops ready, an
 * event, a reward), which arrive between them and carry a "Turn notifications off" button.
 */
export const botMessages = (page: Page) =>
  page
    .locator('#chat .from-bot')
    .filter({ hasNot: page.getByRole('button', { name: /Turn notifications off/ }) });
export const lastBotText = (page: Page) => botMessages(page).last().locator('.text');

/** Until the locator's text matches, within `timeoutMs`. */
export async function waitForText(locator: Locator, pattern: RegExp, timeoutMs: number) {
  await expect
    .poll(async () => (await locator.textContent({ timeout: timeoutMs })) ?? '', {
      timeout: timeoutMs,
    })
    .toMatch(pattern);
}

export const CHROMIUM_PATH = '/usr/bin/chromium';
const INSTALL_CHROMIUM =
  'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium';

/**
 * Debian's Chromium at `path`. When it is missing, root installs the package (as `.ci/run` does)
 * and anyone else gets an error naming it: a browser test that quietly does not run is a defect.
 */
export async function ensureChromium(
  path = CHROMIUM_PATH,
  { install = process.getuid?.() === 0 }: { install?: boolean } = {},
): Promise<string> {
  if (existsSync(path)) return path;
  const missing = `${path} is missing: the browser tests need Debian's chromium package (apt-get install chromium)`;
  if (!install) throw new Error(missing);
  try {
    await promisify(execFile)('sh', ['-c', INSTALL_CHROMIUM], { timeout: 600_000 });
  } catch (err) {
    throw new Error(`${missing}; installing it failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!existsSync(path)) throw new Error(`${missing}; the package installed no ${path}`);
  return path;
}

/** Headless, as root in a container and offline: no sandbox, no GPU, no calls home. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: await ensureChromium(),
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--headless',
    ],
  });
}
