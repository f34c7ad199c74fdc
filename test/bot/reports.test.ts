/**
 * The farm report end to end, as `npm start` wires it: the real dev server, Redis, the bot
 * service with its reports worker, and the local Bot API server (Telegram itself cannot run here:
 * it stands in, with Telegram's multipart uploads and photo limits). A press answers at once and
 * the picture replaces the spinner; a second press starts no second report; the HTTP API serves
 * the same picture from the report store, by signed link or support token, after Temporal has
 * forgotten the run; no file bytes enter history; and a report worker killed with SIGKILL between
 * drawing and sending still gives exactly one picture, drawn again on another worker.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReports, newReportId } from '../../bot/reports';
import { startReportsWorker } from '../../bot/reports-worker';
import { createStoryReader } from '../../bot/support/story';
import type { ChatEntry, Player } from '../../dev/bot-api/player-api';
import { LOCAL_BOT_TOKEN } from '../../dev/start/telegram';
import { createChatIdSealer, userHash } from '../../infra/identity';
import { createLogger } from '../../infra/logging';
import { createReportFiles } from '../../store/report-files';
import {
  farmReportWorkflowId,
  type FarmReportResult,
  farmWorkflowId,
  getCoinDaysQuery,
  getFarmQuery,
  USER_HASH_SEARCH_ATTRIBUTE,
  WORKFLOW_TYPES,
} from '../../workflows/contract';
import { TEST_SECRET } from '../support/game';
import { startWebChatStack, type WebChatStack } from '../dev/web-chat/support';

const SUPPORT_TOKEN = 'a-support-token-of-at-least-32-characters';
const ROOT = join(__dirname, '..', '..');
/** The first bytes of every PNG file. */
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let stack: WebChatStack;
let nextPlayer = 7_000_000 + Math.floor(Math.random() * 1_000_000);
const children = new Set<ChildProcess>();

beforeAll(async () => {
  stack = await startWebChatStack({ env: { SUPPORT_TOKENS: `tester:${SUPPORT_TOKEN}` } });
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await stack?.close();
});

const api = (path: string, init: RequestInit = {}) => fetch(`${stack.url}${path}`, init);
const asSupport = { authorization: `Bearer ${SUPPORT_TOKEN}` };

async function chatOf(player: Player): Promise<ChatEntry[]> {
  return (await stack.local.players.chat(player.id)).messages;
}

/** A player with a farm, on the farm screen. */
async function playerOnFarm(): Promise<{ player: Player; code: string }> {
  nextPlayer += 1;
  const player = { id: nextPlayer, name: 'Report' };
  await stack.local.players.send(player, '/start');
  await expect
    .poll(async () => findButton(await chatOf(player), /Report/), { timeout: 10_000 })
    .toBeDefined();
  return { player, code: userHash(player.id, TEST_SECRET) };
}

function findButton(chat: ChatEntry[], label: RegExp) {
  for (const entry of [...chat].reverse()) {
    const button = entry.keyboard.flat().find((b) => label.test(b.text));
    if (button?.data) return { messageId: entry.messageId, data: button.data };
  }
  return undefined;
}

async function pressReport(player: Player) {
  const button = findButton(await chatOf(player), /Report/);
  if (!button) throw new Error('no 📊 Report button');
  await stack.local.players.press(player, button.messageId, button.data);
}

const storyReader = () =>
  createStoryReader({
    client: stack.t.client,
    namespace: stack.t.namespace,
    temporalUiUrl: 'http://127.0.0.1:8233',
    redis: { redis: stack.redis, keyPrefix: stack.keyPrefix },
  });

async function reportRuns(code: string) {
  const runs = [];
  for await (const run of stack.t.client.workflow.list({
    query: `${USER_HASH_SEARCH_ATTRIBUTE.name} = "${code}" AND WorkflowType = "${WORKFLOW_TYPES.farmReport}"`,
  })) {
    runs.push(run);
  }
  return runs;
}

/** Every payload of a workflow's history, as the server keeps it (metadata and data bytes). */
async function historyPayloads(workflowId: string): Promise<Buffer[]> {
  const history = await stack.t.client.workflow.getHandle(workflowId).fetchHistory();
  const found: Buffer[] = [];
  const walk = (value: unknown): void => {
    if (value instanceof Uint8Array || value === null || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    if (record.metadata && record.data instanceof Uint8Array) found.push(Buffer.from(record.data));
    for (const child of Object.values(record)) walk(child);
  };
  walk(history);
  return found;
}

describe('📊 Report in the chat', () => {
  it('answers at once, then replaces that message with the picture; no file bytes in history', async () => {
    const { player, code } = await playerOnFarm();
    await pressReport(player);
    // The spinner first, then the same message becomes a photo.
    const spinner = (await chatOf(player)).find((m) => /Preparing your report/.test(m.text));
    expect(spinner, 'the "Preparing your report…" message').toBeDefined();
    await expect
      .poll(
        async () => (await chatOf(player)).find((m) => m.messageId === spinner!.messageId)?.photo,
        {
          timeout: 20_000,
        },
      )
      .toBeDefined();
    const chat = await chatOf(player);
    const photos = chat.filter((m) => m.photo);
    expect(photos).toHaveLength(1);
    expect(chat.some((m) => /Preparing your report/.test(m.text))).toBe(false);
    const [picture] = photos;
    expect(picture!.photo).toMatchObject({ width: 1200, height: 800 });
    expect(picture!.text).toMatch(/Your farm report/);
    const file = stack.local.players.photo(player.id, picture!.photo!.fileId);
    expect(file?.bytes.subarray(1, 4).toString()).toBe('PNG');

    // Tagged with the player's support code, and the picture is the one the run made.
    const handle = stack.t.client.workflow.getHandle(farmReportWorkflowId(code));
    const result = (await handle.result()) as FarmReportResult;
    expect(result).toMatchObject({ telegram: 'replaced', attempts: 1, width: 1200, height: 800 });
    expect(createHash('sha256').update(file!.bytes).digest('hex')).toBe(result.sha256);
    const description = await handle.describe();
    expect(description.typedSearchAttributes.get(USER_HASH_SEARCH_ATTRIBUTE)).toBe(code);

    // The chart's data came from the farm's own record: today, the balance it has now.
    const farm = stack.t.client.workflow.getHandle(farmWorkflowId(code));
    const coinDays = await farm.query(getCoinDaysQuery);
    expect(coinDays.at(-1)!.coins).toBe((await farm.query(getFarmQuery)).farm.coins);

    // Support sees it in the player's story.
    const story = await storyReader().read(code);
    expect(story.timeline.map((entry) => entry.summary)).toContainEqual(
      expect.stringMatching(
        /^asked for a farm report in the chat: the picture replaced its message/,
      ),
    );

    // History holds the file's path, size and hash; never its bytes.
    const payloads = await historyPayloads(farmReportWorkflowId(code));
    expect(payloads.some((p) => p.toString().includes(result.sha256))).toBe(true);
    expect(payloads.filter((p) => p.includes(PNG_SIGNATURE))).toEqual([]);
    expect(Math.max(...payloads.map((p) => p.length))).toBeLessThan(10_000);
    expect(result.bytes).toBeGreaterThan(10_000);
  });

  it('a second press while one is being made starts no second one', async () => {
    const { player, code } = await playerOnFarm();
    // The game worker stopped: the report waits, running, for a worker to run it.
    await stack.gameWorker.stop();
    try {
      await pressReport(player);
      await expect.poll(async () => (await reportRuns(code)).length, { timeout: 10_000 }).toBe(1);
      await pressReport(player);
      await expect
        .poll(async () => (await chatOf(player)).some((m) => /on its way/.test(m.text)), {
          timeout: 10_000,
        })
        .toBe(true);
    } finally {
      stack.gameWorker = await stack.startGameWorker();
    }
    await expect
      .poll(async () => (await chatOf(player)).filter((m) => m.photo).length, { timeout: 20_000 })
      .toBe(1);
    expect(await reportRuns(code)).toHaveLength(1);
  });
});

describe('/api/reports', () => {
  it('starts one at once, reports its status, then serves the picture by token and by signed link', async () => {
    const { code } = await playerOnFarm();
    const started = await api('/api/reports', {
      method: 'POST',
      headers: { ...asSupport, 'content-type': 'application/json' },
      body: JSON.stringify({ supportCode: code.toUpperCase() }),
    });
    expect(started.status).toBe(202);
    const { id, status, link } = (await started.json()) as {
      id: string;
      status: string;
      link: string;
    };
    expect(status).toBe('running');
    expect(id).toMatch(new RegExp(`^${code}-[a-z2-7]{26}$`));

    await expect
      .poll(async () => (await api(`/api/reports/${id}`, { headers: asSupport })).status, {
        timeout: 20_000,
      })
      .toBe(200);
    const done = (await (await api(`/api/reports/${id}`, { headers: asSupport })).json()) as {
      status: string;
      picture: { sha256: string; bytes: number };
      expiresAt: string;
    };
    expect(done.status).toBe('done');
    expect(Date.parse(done.expiresAt) - Date.now()).toBeGreaterThan(23 * 3_600_000);

    // The link the POST gave: no token needed; the same bytes as the run made.
    const png = await api(link);
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    const bytes = Buffer.from(await png.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(done.picture.sha256);

    // Hours later, Temporal may have forgotten the run (retention): the picture comes from the
    // report store, whatever Temporal holds.
    await stack.t.client.connection.workflowService.deleteWorkflowExecution({
      namespace: stack.t.namespace,
      workflowExecution: { workflowId: farmReportWorkflowId(code) },
    });
    expect((await api(link)).status).toBe(200);
  });

  it('refuses without a valid token or link, and answers unknown and malformed ids clearly', async () => {
    const { code } = await playerOnFarm();
    const post = (headers: Record<string, string>, body: unknown) =>
      api('/api/reports', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    expect((await post({}, { supportCode: code })).status).toBe(401);
    expect(
      (await post({ authorization: 'Bearer wrong-token-wrong-token-wrong' }, { supportCode: code }))
        .status,
    ).toBe(401);
    expect((await post(asSupport, { supportCode: 'not a code' })).status).toBe(400);
    expect((await post(asSupport, { supportCode: 'a'.repeat(16) })).status).toBe(404);

    const { id, link } = (await (await post(asSupport, { supportCode: code })).json()) as {
      id: string;
      link: string;
    };
    expect((await api(`/api/reports/${id}`)).status).toBe(401);
    const forged = link.replace(/sig=[^&]+/, 'sig=AAAA');
    expect((await api(forged)).status).toBe(403);
    const longer = link.replace(/expires=\d+/, (m) => `expires=${Number(m.slice(8)) + 1}`);
    expect((await api(longer)).status).toBe(403);
    // Another report's link does not open this one.
    const other = newReportId(code);
    expect((await api(link.replace(id, other))).status).toBe(403);
    expect((await api(`/api/reports/${other}`, { headers: asSupport })).status).toBe(404);
    expect((await api('/api/reports/not-an-id', { headers: asSupport })).status).toBe(400);
  });

  it('forgets a picture once its time is up', async () => {
    const files = createReportFiles(stack.t.sharedFilesDir, 50);
    const reportId = newReportId('a'.repeat(16));
    const source = join(ROOT, 'docs', 'screenshot.png');
    await files.keep({
      path: source,
      reportId,
      userHash: 'a'.repeat(16),
      bytes: 1,
      width: 1,
      height: 1,
      sha256: 'x',
    });
    expect(await files.picture(reportId)).not.toBeNull();
    await new Promise((r) => setTimeout(r, 100));
    expect(await files.find(reportId)).toBeNull();
    expect(existsSync(join(stack.t.sharedFilesDir, 'reports', `${reportId}.png`))).toBe(false);
  });
});

describe('files on a pinned worker', () => {
  it('a worker killed between drawing and sending: the block runs again elsewhere, one picture', async () => {
    const { player, code } = await playerOnFarm();
    const workRoot = join(tmpdir(), `farmflow-report-test-${process.pid}`);
    // A reports queue only the child polls at first (the bot's own worker polls the stack's).
    const reportsQueue = `${stack.t.taskQueue}-pinned`;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/support/reports-worker-child.ts'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: stack.t.address,
          TEST_REPORTS_QUEUE: reportsQueue,
          REDIS_URL: 'redis://127.0.0.1:6379',
          TEST_KEY_PREFIX: stack.keyPrefix,
          SHARED_FILES_DIR: stack.t.sharedFilesDir,
          TEST_WORK_ROOT: workRoot,
          TEST_API_ROOT: stack.local.api.url,
          TEST_BOT_TOKEN: LOCAL_BOT_TOKEN,
          USER_HASH_SECRET: TEST_SECRET,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    children.add(child);
    let output = '';
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    await expect.poll(() => output, { timeout: 30_000 }).toContain('ready');

    // As the bot does on a press: the spinner, then the report that replaces it.
    const spinner = (await stack.callAsBot('sendMessage', {
      chat_id: player.id,
      text: 'Preparing your report…',
    })) as { message_id: number };
    await createReports({
      client: stack.t.client,
      files: createReportFiles(stack.t.sharedFilesDir, 3_600_000),
      gameTaskQueue: stack.t.taskQueue,
      workflowOptions: { reportsTaskQueue: reportsQueue, fileWorkerTimeoutMs: 2_000 },
    }).start(code, {
      sealedChatId: createChatIdSealer(TEST_SECRET)(player.id),
      messageId: spinner.message_id,
    });
    // The child draws the picture, then dies (SIGKILL) before it sends it.
    expect(await exited).toBe('SIGKILL');
    expect(output).toContain('rendered');
    const [childDir] = readdirSync(workRoot);
    expect(readdirSync(join(workRoot, childDir!)).filter((f) => f.endsWith('.png'))).toHaveLength(
      1,
    );

    // Another worker comes: it clears the dead one's files at start, and the block runs on it.
    const logger = createLogger('warn');
    const other = await startReportsWorker({
      connection: stack.t.nativeConnection,
      client: stack.t.client,
      dataConverter: stack.t.dataConverter,
      namespace: stack.t.namespace,
      token: LOCAL_BOT_TOKEN,
      apiRoot: stack.local.api.url,
      redis: stack.redis,
      keyPrefix: stack.keyPrefix,
      userHashSecret: TEST_SECRET,
      files: createReportFiles(stack.t.sharedFilesDir, 3_600_000),
      links: { path: () => '/link', verify: () => false },
      publicUrl: stack.url,
      workRoot,
      logger,
      taskQueue: reportsQueue,
    });
    try {
      expect(readdirSync(workRoot).includes(childDir!)).toBe(false);
      const result = (await stack.t.client.workflow
        .getHandle(farmReportWorkflowId(code))
        .result()) as FarmReportResult;
      expect(result).toMatchObject({ telegram: 'replaced', attempts: 2 });
      const photos = (await chatOf(player)).filter((m) => m.photo);
      expect(photos).toHaveLength(1);
      expect(photos[0]!.messageId).toBe(spinner.message_id);
      const story = await storyReader().read(code);
      expect(story.timeline.map((entry) => entry.summary)).toContainEqual(
        expect.stringMatching(/drawn 2 times: a report worker was lost$/),
      );
      // Its own files are gone after use.
      expect(readdirSync(join(workRoot, readdirSync(workRoot)[0]!))).toEqual([]);
    } finally {
      await other.stop();
    }
    expect(readdirSync(workRoot)).toEqual([]);
  });
});
