/**
 * The farm report end to end, as `npm start` wires it: the real dev server, Redis, the bot
 * service with its reports worker, and the local Bot API server (Telegram itself cannot run here:
 * it stands in, with Telegram's multipart uploads and photo limits). A press answers at once and
 * the picture replaces the spinner, once per press however often Telegram delivers it; a second
 * press starts no second report; a report that cannot be made says so; the HTTP API serves the
 * same picture from the report store, by signed link or support token, after Temporal has
 * forgotten the run; no file bytes enter history; and a report worker killed with SIGKILL
 * between drawing and sending, or while sending, still gives exactly one picture.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPORT_FAILED_TEXT } from '../../activities/report';
import { createReportLinks, createReports, newReportId } from '../../bot/reports';
import { startReportsWorker } from '../../bot/reports-worker';
import { createStoryReader } from '../../bot/support/story';
import type { ChatEntry, Player } from '../../dev/bot-api/player-api';
import { LOCAL_BOT_TOKEN } from '../../dev/start/telegram';
import { createChatIdSealer, userHash } from '../../infra/identity';
import { createLogger } from '../../infra/logging';
import { createReportFiles } from '../../store/report-files';
import {
  type FarmReportInput,
  farmReportWorkflowId,
  type FarmReportResult,
  farmWorkflowId,
  getCoinDaysQuery,
  getFarmQuery,
  REPORT_MEMO,
  USER_HASH_SEARCH_ATTRIBUTE,
  WORKFLOW_TYPES,
} from '../../workflows/contract';
import { startWebChatStack, type WebChatStack } from '../dev/web-chat/support';
import { REDIS_URL } from '../support/constants';
import { TEST_SECRET } from '../support/game';
import { EventType, historyPayloads } from '../support/history';

const SUPPORT_TOKEN = 'a-support-token-of-at-least-32-characters';
const ADMIN_TOKEN = 'an-admin-token-of-at-least-32-characters';
const ROOT = join(__dirname, '..', '..');
/** The first bytes of every PNG file. */
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const HOUR_MS = 3_600_000;
/**
 * Tests that stop a worker (its sticky queue then holds the next task for 10 s) or start one in a
 * child process: about 10-15 s here, more on a loaded machine.
 */
const SLOW_TEST_MS = 60_000;

let stack: WebChatStack;
let nextPlayer = 7_000_000 + Math.floor(Math.random() * 1_000_000);
const children = new Set<ChildProcess>();
const workRoots: string[] = [];

beforeAll(async () => {
  stack = await startWebChatStack({
    adminListener: true,
    env: {
      SUPPORT_TOKENS: `tester:${SUPPORT_TOKEN}`,
      ADMIN_TOKEN,
    },
  });
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await stack?.close();
  for (const dir of workRoots) rmSync(dir, { recursive: true, force: true });
});

const api = (path: string, init: RequestInit = {}) => fetch(`${stack.url}${path}`, init);
const asSupport = { authorization: `Bearer ${SUPPORT_TOKEN}` };
const post = (headers: Record<string, string>, body: unknown) =>
  api('/api/reports', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

async function chatOf(player: Player): Promise<ChatEntry[]> {
  return (await stack.local.players.chat(player.id)).messages;
}
const photosOf = async (player: Player) => (await chatOf(player)).filter((m) => m.photo);

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

/** Presses 📊 Report as Telegram delivers it; the update's id, for a redelivery. */
async function pressReport(player: Player): Promise<number> {
  const button = findButton(await chatOf(player), /Report/);
  if (!button) throw new Error('no 📊 Report button');
  const { updateId } = await stack.local.api.pressButton(
    { id: player.id, first_name: player.name },
    { chat_id: player.id, message_id: button.messageId },
    button.data,
  );
  return updateId;
}

async function spinnerOf(player: Player): Promise<ChatEntry> {
  let spinner: ChatEntry | undefined;
  await expect
    .poll(async () => (spinner = (await chatOf(player)).find((m) => /Preparing/.test(m.text))), {
      timeout: 10_000,
    })
    .toBeDefined();
  return spinner!;
}

async function reportRuns(code: string) {
  const runs = [];
  for await (const run of stack.t.client.workflow.list({
    query: `${USER_HASH_SEARCH_ATTRIBUTE.name} = "${code}" AND WorkflowType = "${WORKFLOW_TYPES.farmReport}"`,
  })) {
    runs.push(run);
  }
  return runs;
}

const storyReader = () =>
  createStoryReader({
    client: stack.t.client,
    namespace: stack.t.namespace,
    temporalUiUrl: 'http://127.0.0.1:8233',
    redis: { redis: stack.redis, keyPrefix: stack.keyPrefix },
  });

const reportResult = (code: string) =>
  stack.t.client.workflow
    .getHandle(farmReportWorkflowId(code))
    .result() as Promise<FarmReportResult>;

describe('📊 Report in the chat', () => {
  it('answers at once, then replaces that message with the picture; no file bytes in history', async () => {
    const { player, code } = await playerOnFarm();
    await pressReport(player);
    const spinner = await spinnerOf(player);
    await expect
      .poll(
        async () => (await chatOf(player)).find((m) => m.messageId === spinner.messageId)?.photo,
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
    expect(file?.bytes.subarray(0, 8)).toEqual(PNG_SIGNATURE);

    // Tagged with the player's support code, and the picture is the one the run made.
    const handle = stack.t.client.workflow.getHandle(farmReportWorkflowId(code));
    const result = await reportResult(code);
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
    const payloads = await historyPayloads(stack.t.client, farmReportWorkflowId(code));
    expect(payloads.some((p) => p.data.toString().includes(result.sha256))).toBe(true);
    expect(payloads.filter((p) => p.data.includes(PNG_SIGNATURE))).toEqual([]);
    expect(Math.max(...payloads.map((p) => p.data.length))).toBeLessThan(10_000);
    expect(result.bytes).toBeGreaterThan(10_000);
  });

  it('a press delivered again is the same report: no second message, no second run', async () => {
    const { player, code } = await playerOnFarm();
    const updateId = await pressReport(player);
    await expect.poll(async () => (await photosOf(player)).length, { timeout: 20_000 }).toBe(1);
    const before = await chatOf(player);
    // Telegram delivers it again (its answer to the first was lost).
    const again = await stack.local.api.redeliver(updateId);
    expect(again.status).toBe(200);
    expect(await chatOf(player)).toEqual(before);
    expect(await reportRuns(code)).toHaveLength(1);
  });

  it(
    'a second press while one is being made starts no second one',
    async () => {
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
      await expect.poll(async () => (await photosOf(player)).length, { timeout: 30_000 }).toBe(1);
      expect(await reportRuns(code)).toHaveLength(1);
    },
    SLOW_TEST_MS,
  );

  it('a report that cannot be made says so in place of the spinner; one kept without its message', async () => {
    const { player, code } = await playerOnFarm();
    const files = createReportFiles(stack.t.sharedFilesDir);
    const reports = createReports({
      client: stack.t.client,
      files,
      gameTaskQueue: stack.t.taskQueue,
      keepMs: HOUR_MS,
      workflowOptions: { reportsTaskQueue: `${stack.t.taskQueue}-reports` },
    });
    const sealedChatId = createChatIdSealer(TEST_SECRET)(player.id);
    const spinner = (await stack.callAsBot('sendMessage', {
      chat_id: player.id,
      text: 'Preparing your report…',
    })) as { message_id: number };

    // A support code with no farm behind it (started as the bot would, past its own check).
    const lost = 'abcdefghijklmnop';
    const reportId = newReportId(lost);
    const input: FarmReportInput = {
      userHash: lost,
      reportId,
      expiresAtMs: Date.now() + HOUR_MS,
      telegram: { sealedChatId, messageId: spinner.message_id },
      reportsTaskQueue: `${stack.t.taskQueue}-reports`,
    };
    await stack.t.client.workflow.start(WORKFLOW_TYPES.farmReport, {
      workflowId: farmReportWorkflowId(lost),
      taskQueue: stack.t.taskQueue,
      args: [input],
      memo: { [REPORT_MEMO]: { reportId, expiresAtMs: input.expiresAtMs, toChat: true } },
    });
    await expect
      .poll(
        async () => (await chatOf(player)).find((m) => m.messageId === spinner.message_id)?.text,
        { timeout: 20_000 },
      )
      .toBe(REPORT_FAILED_TEXT);
    // The message says so a moment before the run ends failed.
    await expect
      .poll(() => reports.status(reportId), { timeout: 10_000 })
      .toMatchObject({ status: 'failed', reason: 'no farm runs under this support code' });
    const failed = await api(`/api/reports/${reportId}`, { headers: asSupport });
    expect(failed.status).toBe(200);
    expect(await failed.json()).toMatchObject({
      status: 'failed',
      reason: 'no farm runs under this support code',
    });

    // The player deleted the message meanwhile: the picture is kept for its link all the same.
    const gone = (await stack.callAsBot('sendMessage', {
      chat_id: player.id,
      text: 'Preparing your report…',
    })) as { message_id: number };
    await stack.callAsBot('deleteMessage', { chat_id: player.id, message_id: gone.message_id });
    const kept = await reports.start(code, {
      telegram: { sealedChatId, messageId: gone.message_id },
    });
    expect(await reportResult(code)).toMatchObject({ telegram: 'message gone' });
    expect(await files.find(kept.reportId)).not.toBeNull();
    expect(await photosOf(player)).toEqual([]);

    // The player blocked the bot meanwhile: kept too, and nothing retried against the 403.
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // Telegram's 1 message/s a chat
    const blockedSpinner = (await stack.callAsBot('sendMessage', {
      chat_id: player.id,
      text: 'Preparing your report…',
    })) as { message_id: number };
    await stack.local.api.blockChat(player.id);
    try {
      const blocked = await reports.start(code, {
        telegram: { sealedChatId, messageId: blockedSpinner.message_id },
      });
      expect(await reportResult(code)).toMatchObject({ telegram: 'blocked', attempts: 1 });
      expect(await files.find(blocked.reportId)).not.toBeNull();
    } finally {
      await stack.local.api.unblockChat(player.id);
    }
  });
});

describe('/api/reports', () => {
  it(
    'starts one at once, reports its status, then serves the picture by token and by signed link',
    async () => {
      const { code } = await playerOnFarm();
      // While the game worker is away, the report runs and says so.
      await stack.gameWorker.stop();
      let id: string;
      let link: string;
      try {
        const started = await post(asSupport, { supportCode: code.toUpperCase() });
        expect(started.status).toBe(202);
        const body = (await started.json()) as { id: string; status: string; link: string };
        ({ id, link } = body);
        expect(body.status).toBe('running');
        expect(id).toMatch(new RegExp(`^${code}-[a-z2-7]{26}$`));
        const running = await api(`/api/reports/${id}`, { headers: asSupport });
        expect(running.status).toBe(202);
        expect(running.headers.get('retry-after')).toBe('1');
      } finally {
        stack.gameWorker = await stack.startGameWorker();
      }

      await expect
        .poll(async () => (await api(`/api/reports/${id}`, { headers: asSupport })).status, {
          timeout: 30_000,
        })
        .toBe(200);
      const done = (await (await api(`/api/reports/${id}`, { headers: asSupport })).json()) as {
        status: string;
        picture: { sha256: string; bytes: number };
        expiresAt: string;
        link: string;
      };
      expect(done.status).toBe('done');
      expect(Date.parse(done.expiresAt) - Date.now()).toBeGreaterThan(23 * HOUR_MS);
      // The link the POST gave is the one the report keeps: valid exactly as long as the picture.
      expect(done.link).toBe(link);

      // No token needed with the link; the same bytes as the run made.
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
    },
    SLOW_TEST_MS,
  );

  it('refuses without a valid token or link, and answers unknown and malformed ids clearly', async () => {
    const { code } = await playerOnFarm();
    expect((await post({}, { supportCode: code })).status).toBe(401);
    const wrong = { authorization: 'Bearer wrong-token-wrong-token-wrong' };
    expect((await post(wrong, { supportCode: code })).status).toBe(401);
    const malformed = await post(asSupport, { supportCode: 'not a code' });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({
      error: 'a support code is 16 characters of a-z and 2-7',
    });
    const noFarm = await post(asSupport, { supportCode: 'a'.repeat(16) });
    expect(noFarm.status).toBe(404);
    expect(await noFarm.json()).toEqual({ error: 'no farm runs under this support code' });

    const { id, link } = (await (await post(asSupport, { supportCode: code })).json()) as {
      id: string;
      link: string;
    };
    expect((await api(`/api/reports/${id}`)).status).toBe(401);
    expect((await api(link.replace(/sig=[^&]+/, 'sig=AAAA'))).status).toBe(403);
    const later = link.replace(/expires=(\d+)/, (_, ms: string) => `expires=${Number(ms) + 1}`);
    expect((await api(later)).status).toBe(403);
    // Rightly signed, but expired.
    const expired = createReportLinks(TEST_SECRET).path(id, Date.now() - 1);
    expect((await api(expired)).status).toBe(403);
    // Another report's link does not open this one; unknown and malformed ids are told apart.
    const other = newReportId(code);
    expect((await api(link.replace(id, other))).status).toBe(403);
    expect((await api(`/api/reports/${other}`, { headers: asSupport })).status).toBe(404);
    const notAnId = await api('/api/reports/not-an-id', { headers: asSupport });
    expect(notAnId.status).toBe(400);
    expect(((await notAnId.json()) as { error: string }).error).toMatch(
      /params\/id must match pattern/,
    );
    const gif = await api(`/api/reports/${id}?format=gif`, { headers: asSupport });
    expect(gif.status).toBe(400);
    expect(((await gif.json()) as { error: string }).error).toMatch(
      /format must be equal to one of/,
    );
    // The admin token opens the admin listener, never this internet-facing port.
    const asAdmin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    expect((await api(`/api/reports/${id}`, { headers: asAdmin })).status).toBe(401);
    expect((await post(asAdmin, { supportCode: code })).status).toBe(401);
  });
});

describe('the report store', () => {
  it('forgets a picture once its time is up, and sweeps what an interrupted copy left', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'farmflow-report-store-'));
    workRoots.push(dir);
    const files = createReportFiles(dir);
    const reportId = newReportId('a'.repeat(16));
    const source = join(dir, 'picture.png');
    writeFileSync(source, PNG_SIGNATURE);
    const picture = {
      path: source,
      reportId,
      userHash: 'a'.repeat(16),
      bytes: 8,
      width: 1,
      height: 1,
      sha256: 'x',
    };
    await files.keep({ ...picture, expiresAtMs: Date.now() + 1_500 });
    expect(await files.picture(reportId)).toEqual(PNG_SIGNATURE);
    await new Promise((r) => setTimeout(r, 1_600));
    expect(await files.find(reportId)).toBeNull();
    expect(readdirSync(join(dir, 'reports'))).toEqual([]);

    const kept = newReportId('a'.repeat(16));
    await files.keep({ ...picture, reportId: kept, expiresAtMs: Date.now() + HOUR_MS });
    const stale = new Date(Date.now() - HOUR_MS);
    const left = [`${newReportId('a'.repeat(16))}.png`, `${kept}.png.abc.partial`];
    for (const name of left) writeFileSync(join(dir, 'reports', name), 'x');
    for (const name of left) utimesSync(join(dir, 'reports', name), stale, stale);
    expect(await files.sweep()).toBe(2);
    expect(readdirSync(join(dir, 'reports')).sort()).toEqual([`${kept}.json`, `${kept}.png`]);
  });
});

describe('files on a pinned worker', () => {
  /** A reports worker in a child process, the only one polling `queue`, that dies as told. */
  async function childWorker(queue: string, workRoot: string, dieAfter: 'render' | 'publish') {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/support/reports-worker-child.ts'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: stack.t.address,
          TEST_REPORTS_QUEUE: queue,
          TEST_DIE_AFTER: dieAfter,
          REDIS_URL,
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
    return { exited, output: () => output };
  }

  /** Another bot process's reports worker, on the same queue: it takes the block over. */
  const otherWorker = (queue: string, workRoot: string) =>
    startReportsWorker({
      connection: stack.t.nativeConnection,
      client: stack.t.client,
      dataConverter: stack.t.dataConverter,
      namespace: stack.t.namespace,
      token: LOCAL_BOT_TOKEN,
      apiRoot: stack.local.api.url,
      redis: stack.redis,
      keyPrefix: stack.keyPrefix,
      userHashSecret: TEST_SECRET,
      files: createReportFiles(stack.t.sharedFilesDir),
      links: createReportLinks(TEST_SECRET),
      publicUrl: stack.url,
      workRoot,
      logger: createLogger('warn'),
      taskQueue: queue,
    });

  /** As the bot does on a press: the spinner, then the report that replaces it. */
  async function reportInChat(player: Player, code: string, queue: string) {
    const spinner = (await stack.callAsBot('sendMessage', {
      chat_id: player.id,
      text: 'Preparing your report…',
    })) as { message_id: number };
    await createReports({
      client: stack.t.client,
      files: createReportFiles(stack.t.sharedFilesDir),
      gameTaskQueue: stack.t.taskQueue,
      keepMs: HOUR_MS,
      // A lost worker noticed within 3 s, not 10.
      workflowOptions: { reportsTaskQueue: queue, fileWorkerTimeoutMs: 3_000 },
    }).start(code, {
      telegram: {
        sealedChatId: createChatIdSealer(TEST_SECRET)(player.id),
        messageId: spinner.message_id,
      },
    });
    return spinner.message_id;
  }

  /**
   * A player's report in the chat, taken by a child process's reports worker that dies with
   * SIGKILL after drawing (before sending) or after sending (before telling Temporal).
   */
  async function reportKilled(dieAfter: 'render' | 'publish') {
    const { player, code } = await playerOnFarm();
    const workRoot = mkdtempSync(join(tmpdir(), 'farmflow-report-work-'));
    workRoots.push(workRoot);
    const queue = `${stack.t.taskQueue}-pinned-${dieAfter}`;
    const child = await childWorker(queue, workRoot, dieAfter);
    const messageId = await reportInChat(player, code, queue);
    expect(await child.exited).toBe('SIGKILL');
    expect(child.output()).toContain(dieAfter === 'render' ? 'rendered' : 'published');
    return { player, code, workRoot, queue, messageId };
  }

  it(
    'killed between drawing and sending: the block runs again elsewhere, one picture',
    async () => {
      // The child draws the picture, then dies (SIGKILL) before it sends it.
      const { player, code, workRoot, queue, messageId } = await reportKilled('render');
      const [childDir] = readdirSync(workRoot);
      expect(readdirSync(join(workRoot, childDir!)).filter((f) => f.endsWith('.png'))).toHaveLength(
        1,
      );

      // Another worker comes: it clears the dead one's files at start, and the block runs on it.
      const other = await otherWorker(queue, workRoot);
      try {
        expect(readdirSync(workRoot)).not.toContain(childDir);
        const result = await reportResult(code);
        expect(result).toMatchObject({ telegram: 'replaced', attempts: 2 });
        const photos = await photosOf(player);
        expect(photos.map((p) => p.messageId)).toEqual([messageId]);
        // History: the drawing completed on the dead process's queue, the sending never started
        // there (no poller) or timed out (no heartbeat), and both ran on the other's.
        const history = await stack.t.client.workflow
          .getHandle(farmReportWorkflowId(code))
          .fetchHistory();
        const events = history.events ?? [];
        const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes);
        const on = (name: string, taskQueue: string) =>
          scheduled.filter(
            (e) =>
              e.activityTaskScheduledEventAttributes!.activityType?.name === name &&
              e.activityTaskScheduledEventAttributes!.taskQueue?.name === taskQueue,
          );
        const childQueue = scheduled.find(
          (e) => e.activityTaskScheduledEventAttributes!.activityType?.name === 'renderReport',
        )!.activityTaskScheduledEventAttributes!.taskQueue!.name!;
        const [render] = on('renderReport', childQueue);
        const completed = events.find(
          (e) =>
            e.activityTaskCompletedEventAttributes &&
            Number(e.activityTaskCompletedEventAttributes.scheduledEventId) ===
              Number(render!.eventId),
        );
        expect(completed, 'the drawing completed on the dead process').toBeDefined();
        const [publish] = on('publishReport', childQueue);
        expect(
          events.some(
            (e) =>
              e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT &&
              Number(e.activityTaskTimedOutEventAttributes!.scheduledEventId) ===
                Number(publish!.eventId),
          ),
        ).toBe(true);
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
    },
    SLOW_TEST_MS,
  );

  it(
    'killed while sending, after the picture reached the chat: still one picture',
    async () => {
      const { player, code, workRoot, queue, messageId } = await reportKilled('publish');
      // The edit landed before the process died: the message shows the picture already.
      expect((await photosOf(player)).map((p) => p.messageId)).toEqual([messageId]);

      const other = await otherWorker(queue, workRoot);
      try {
        expect(await reportResult(code)).toMatchObject({ telegram: 'replaced', attempts: 2 });
        // Drawn and sent again, to the same message: the chat shows one picture, the new one.
        const photos = await photosOf(player);
        expect(photos.map((p) => p.messageId)).toEqual([messageId]);
        expect((await chatOf(player)).filter((m) => m.messageId === messageId)).toHaveLength(1);
      } finally {
        await other.stop();
      }
    },
    SLOW_TEST_MS,
  );
});
