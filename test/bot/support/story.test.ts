/**
 * A player's story and support's compensation, against the run's dev server and the real Redis:
 * the story reader (timeline, paging, workflows, failures, registry copy), the compensation
 * (once per idempotency key, capped, recorded with who), and the /support API on the admin
 * listener through `app.inject` (tokens, errors). Telegram is not involved.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type AdminApp, buildAdminApp } from '../../../bot/admin/app';
import {
  CompensationConflictError,
  CompensationRequestError,
  createCompensations,
} from '../../../bot/support/compensation';
import {
  createStoryReader,
  MalformedSupportCodeError,
  type PlayerStory,
  UnknownPlayerError,
} from '../../../bot/support/story';
import { createLogger } from '../../../infra/logging';
import { scheduleDefinitions } from '../../../schedules/catalog';
import { createScheduleOperations } from '../../../schedules/engine';
import { registryKeys } from '../../../store/players';
import {
  farmWorkflowId,
  getFarmQuery,
  grantRewardSignal,
  type SupportGrantInput,
  type SupportGrantResult,
  supportGrantWorkflowId,
  USER_HASH_SEARCH_ATTRIBUTE,
  WORKFLOW_TYPES,
} from '../../../workflows/contract';
import { unusedBatches } from '../../support/batches';
import { newPlayer, nextUpdateId, startTestGame, type TestGame } from '../../support/game';
import { eventually } from '../../support/schedules';

const UI = 'http://ui.example:8233';
const ADMIN_TOKEN = randomBytes(32).toString('hex');
const ALICE_TOKEN = randomBytes(32).toString('hex');
const MAX_COINS = 500;

let g: TestGame;
let story: ReturnType<typeof createStoryReader>;
let compensations: ReturnType<typeof createCompensations>;
let app: AdminApp;

const player = newPlayer();
let code: string;

beforeAll(async () => {
  g = await startTestGame();
  story = createStoryReader({
    client: g.t.client,
    namespace: g.t.namespace,
    temporalUiUrl: UI,
    redis: { redis: g.redis, keyPrefix: g.keyPrefix },
  });
  compensations = createCompensations({
    client: g.t.client,
    gameTaskQueue: g.gameTaskQueue,
    maxCoins: MAX_COINS,
  });
  app = await supportApp(50);

  // The player's moves: open the farm, plant wheat, a refused plant (no such plot), a bonus.
  const act = (intent: Parameters<TestGame['game']['handleIntent']>[1]) =>
    g.game.handleIntent({ ...player, firstName: 'Ada' }, intent, nextUpdateId());
  code = (await act({ type: 'query' })).userHash;
  await act({ type: 'message', action: { type: 'plant', plotId: 0, cropId: 'wheat' } });
  await act({ type: 'message', action: { type: 'plant', plotId: 11, cropId: 'wheat' } });
  await act({ type: 'message', action: { type: 'claimDailyBonus' } });
  // A batch's grant, as the batch signals it.
  await g.t.client.workflow.getHandle(farmWorkflowId(code)).signal(grantRewardSignal, {
    grantId: 'grant-test-1',
    issuedAtMs: Date.now(),
    coins: 7,
    xp: 3,
    reason: 'test prize',
    batchId: 'test-batch-1',
  });
  // Visibility is eventually consistent: wait until it lists the four messages.
  await eventually(
    async () => {
      const { count } = await g.t.client.workflow.count(
        `UserHash = '${code}' AND WorkflowType != '${WORKFLOW_TYPES.gameFarm}' AND ExecutionStatus = 'Completed'`,
      );
      return count >= 4 ? count : undefined;
    },
    10_000,
    'visibility lists the messages',
  );
});

afterAll(async () => {
  await app?.close();
  await g?.close();
});

/** The admin listener's app (a bot process) with its own limiter and Redis key prefix. */
async function supportApp(failures: number): Promise<AdminApp> {
  const idPrefix = `test-${randomUUID().slice(0, 8)}-`;
  return buildAdminApp({
    logger: createLogger('silent'),
    token: ADMIN_TOKEN,
    support: {
      tokens: [{ name: 'alice', token: ALICE_TOKEN }],
      grantMaxCoins: MAX_COINS,
      story,
      compensations,
    },
    redis: g.redis,
    keyPrefix: `${inject('redisKeyPrefix')}${randomUUID().slice(0, 8)}:`,
    // Never applied: the routes list an empty catalog's schedules, and nothing polls the queue.
    operations: createScheduleOperations({
      client: g.t.client,
      definitions: scheduleDefinitions({ timeScale: 1, taskQueue: `${idPrefix}idle`, idPrefix }),
      idPrefix,
    }),
    batches: unusedBatches,
    failureLimit: { failures, windowSeconds: 60 },
  });
}

const summaries = (s: PlayerStory) => s.timeline.map((e) => `${e.kind}: ${e.summary}`);

describe("a player's story", () => {
  it('tells the farm, the timeline newest first with intents, results and refusals, and the grant with its batch', async () => {
    const s = await story.read(code);
    expect(s.userHash).toBe(code);
    expect(s.farm).toMatchObject({ xp: 3, displayName: 'Ada', reachable: true });
    expect(s.farm!.plots[0]).toMatchObject({ plot: 1, crop: 'wheat' });
    const lines = summaries(s);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^message: opened the farm$/),
        expect.stringMatching(/^message: plant wheat on plot 1: planted, \d+ coins spent$/),
        expect.stringMatching(/^message: plant wheat on plot 12: refused: /),
        expect.stringMatching(/^message: claim the daily bonus: \+\d+ coins$/),
        expect.stringMatching(/^grant: \+7 coins, \+3 XP: test prize \(batch test-batch-1\)/),
        'farm: farm created',
      ]),
    );
    const times = s.timeline.map((e) => Date.parse(e.time));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(s.timeline.find((e) => e.kind === 'grant')).toMatchObject({
      batchId: 'test-batch-1',
      source: 'farm',
    });
    // Every message's workflow is in the list, with a link; the farm's run first.
    expect(s.workflows[0]).toMatchObject({
      type: WORKFLOW_TYPES.gameFarm,
      id: farmWorkflowId(code),
      status: 'RUNNING',
      closeTime: null,
    });
    const types = s.workflows.map((w) => w.type);
    expect(types.filter((t) => t === WORKFLOW_TYPES.mainMenuMessage)).toHaveLength(3);
    expect(types).toContain(WORKFLOW_TYPES.mainMenuQuery);
    for (const w of s.workflows) {
      expect(w.link).toBe(`${UI}/namespaces/default/workflows/${w.id}/${w.runId}/history`);
    }
    expect(s.workflowTotal).toBe(5);
    expect(s.temporalUi).toBe(
      `${UI}/namespaces/default/workflows?query=${encodeURIComponent(`UserHash = '${code}'`)}`,
    );
    expect(s.failures).toEqual([]);
    expect(s.registry).toMatchObject({
      source: 'registry (Redis copy)',
      entry: { farmerNumber: 1, reachable: true, notifications: true },
    });
  });

  it('never contains the raw Telegram id', async () => {
    const text = JSON.stringify(await story.read(code));
    expect(text).not.toContain(String(player.telegramUserId));
    expect(text).not.toContain(String(player.chatId));
  });

  it('pages: limit and before walk the timeline without gaps or repeats, whatever the page size', async () => {
    // Another player's history with entries that share a millisecond (a grant and the message it
    // queues) and messages answered out of the order they started in (sent all at once).
    const other = newPlayer();
    const { userHash } = await g.game.handleIntent(other, { type: 'query' }, nextUpdateId());
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        g.game.handleIntent(
          other,
          { type: 'message', action: { type: 'setPreferences', showName: i % 2 === 0 } },
          nextUpdateId(),
        ),
      ),
    );
    for (let i = 0; i < 3; i += 1) {
      await g.t.client.workflow.getHandle(farmWorkflowId(userHash)).signal(grantRewardSignal, {
        grantId: `paging-${i}`,
        issuedAtMs: Date.now(),
        coins: 1,
        xp: 0,
        reason: `paging ${i}`,
        message: 'thanks',
      });
    }
    const whole = await eventually(
      async () => {
        const read = await story.read(userHash);
        const notified = read.timeline.filter(
          (e) => e.kind === 'notification' && e.summary.endsWith(': sent'),
        ).length;
        const answered = read.workflows.filter((w) => w.closeTime !== null).length;
        return answered === 7 && notified === 3 ? read : undefined;
      },
      10_000,
      'visibility lists the messages answered and the farm logs the grants',
    );
    expect(whole.nextBefore).toBeNull();
    // A grant and its notification share a millisecond: no page may split them.
    const grantAt = whole.timeline.find((e) => e.kind === 'grant')!.time;
    expect(whole.timeline.filter((e) => e.time === grantAt).length).toBeGreaterThan(1);
    for (const limit of [1, 2, 3, 5]) {
      const seen: string[] = [];
      let before: Date | undefined;
      for (let page = 0; page < 40; page += 1) {
        const s = await story.read(userHash, { limit, ...(before ? { before } : {}) });
        seen.push(...summaries(s));
        if (!s.nextBefore) break;
        expect(s.timeline.length).toBeGreaterThanOrEqual(limit);
        before = new Date(s.nextBefore);
      }
      expect([...seen].sort(), `pages of ${limit}`).toEqual([...summaries(whole)].sort());
      expect(seen, `pages of ${limit}`).toHaveLength(whole.timeline.length);
    }
  });

  it('reads a code however it was pasted, refuses a malformed one, and says when no player has one', async () => {
    expect((await story.read(` ${code.toUpperCase()}\n`)).userHash).toBe(code);
    await expect(story.read('not-a-code')).rejects.toBeInstanceOf(MalformedSupportCodeError);
    await expect(story.read('aaaaaaaaaaaaaaaa')).rejects.toBeInstanceOf(UnknownPlayerError);
  });

  it('shows a missing registry entry as missing, and the story still comes from Temporal', async () => {
    const other = newPlayer();
    const { userHash } = await g.game.handleIntent(other, { type: 'query' }, nextUpdateId());
    await eventually(
      async () => (await story.read(userHash)).registry.entry ?? undefined,
      10_000,
      'the farm registers',
    );
    await g.redis.del(registryKeys(g.keyPrefix).player(userHash));
    const s = await story.read(userHash);
    expect(s.registry.entry).toBeNull();
    expect(s.registry.note).toMatch(/no registry entry.*backfill/);
    expect(s.farm).not.toBeNull();
  });

  it('shows a message still in progress on top, and pages past it to the answered ones', async () => {
    const other = newPlayer();
    const { userHash } = await g.game.handleIntent(other, { type: 'query' }, nextUpdateId());
    // A message no worker runs (nobody polls this queue): in progress until it is terminated.
    const handle = await g.t.client.workflow.start(WORKFLOW_TYPES.mainMenuMessage, {
      workflowId: `main-menu-${userHash}-in-progress`,
      taskQueue: `${g.gameTaskQueue}-nobody`,
      args: [{ userHash, sealedChatId: 'sealed', action: { type: 'claimDailyBonus' } }],
      typedSearchAttributes: [{ key: USER_HASH_SEARCH_ATTRIBUTE, value: userHash }],
    });
    try {
      const whole = await eventually(
        async () => {
          const read = await story.read(userHash);
          const answered = read.workflows.filter((w) => w.closeTime !== null).length;
          return read.timeline.length === 3 && answered === 1 ? read : undefined;
        },
        10_000,
        'visibility lists both messages, the first answered',
      );
      expect(summaries(whole)).toEqual([
        'message: claim the daily bonus: in progress',
        'message: opened the farm',
        'farm: farm created',
      ]);
      for (const limit of [1, 2]) {
        const seen: string[] = [];
        let before: Date | undefined;
        for (let page = 0; page < 5; page += 1) {
          const s = await story.read(userHash, { limit, ...(before ? { before } : {}) });
          seen.push(...summaries(s));
          if (!s.nextBefore) break;
          before = new Date(s.nextBefore);
        }
        expect(seen, `pages of ${limit}`).toEqual(summaries(whole));
      }
    } finally {
      await handle.terminate('test over');
    }
  });

  it('highlights a failed workflow, in the failures and in the timeline', async () => {
    const other = newPlayer();
    const { userHash } = await g.game.handleIntent(other, { type: 'query' }, nextUpdateId());
    // A message whose workflow never ran (no worker polls this queue), then terminated.
    const handle = await g.t.client.workflow.start(WORKFLOW_TYPES.mainMenuMessage, {
      workflowId: `main-menu-${userHash}-stuck`,
      taskQueue: `${g.gameTaskQueue}-nobody`,
      args: [{ userHash, sealedChatId: 'sealed', action: { type: 'buyPlot' } }],
      typedSearchAttributes: [{ key: USER_HASH_SEARCH_ATTRIBUTE, value: userHash }],
    });
    await handle.terminate('stuck in a test');
    const s = await eventually(
      async () => {
        const read = await story.read(userHash);
        return read.failures.length > 0 ? read : undefined;
      },
      10_000,
      'visibility lists the failure',
    );
    expect(s.failures[0]).toMatchObject({
      id: handle.workflowId,
      status: 'TERMINATED',
      failed: true,
    });
    expect(s.timeline.find((e) => e.workflowId === handle.workflowId)).toMatchObject({
      kind: 'message',
      failed: true,
      summary: 'buy a plot: terminated: terminated: stuck in a test',
    });
  });
});

describe('compensation', () => {
  const coinsOf = async (userHash: string) =>
    (await g.t.client.workflow.getHandle(farmWorkflowId(userHash)).query(getFarmQuery)).farm.coins;

  it('pays once per idempotency key, records who and why, and shows in the timeline', async () => {
    const before = await coinsOf(code);
    const request = {
      userHash: code,
      coins: 40,
      reason: 'lost wheat in an outage',
      idempotencyKey: randomUUID(),
      by: 'alice',
    };
    const [first, second] = await Promise.all([
      compensations.grant(request),
      compensations.grant(request),
    ]);
    expect([first.status, second.status].sort()).toEqual(['already granted', 'granted']);
    expect(first).toMatchObject({ coins: 40, by: 'alice', confirmed: true });
    expect(await coinsOf(code)).toBe(before + 40);
    const again = await compensations.grant(request);
    expect(again.status).toBe('already granted');
    expect(await coinsOf(code)).toBe(before + 40);

    const s = await eventually(
      async () => {
        const read = await story.read(code);
        return read.timeline.some(
          (e) => e.kind === 'compensation' && !e.summary.endsWith('progress'),
        )
          ? read
          : undefined;
      },
      10_000,
      'visibility lists the compensation',
    );
    expect(s.timeline.filter((e) => e.kind === 'compensation')).toEqual([
      expect.objectContaining({
        by: 'alice',
        summary: 'compensation of 40 coins by alice: lost wheat in an outage',
      }),
    ]);
    expect(summaries(s)).toContain(
      `grant: +40 coins: lost wheat in an outage [grant support-${request.idempotencyKey}]`,
    );
  });

  it('pays nothing when no farm runs under the code (the workflow says so)', async () => {
    const result: SupportGrantResult = await g.t.client.workflow.execute<
      (input: SupportGrantInput) => Promise<SupportGrantResult>
    >(WORKFLOW_TYPES.supportGrant, {
      workflowId: `support-grant-aaaaaaaaaaaaaaab-${randomUUID()}`,
      taskQueue: g.gameTaskQueue,
      args: [
        {
          userHash: 'aaaaaaaaaaaaaaab',
          idempotencyKey: 'no-farm-key',
          coins: 5,
          reason: 'none',
          by: 'alice',
        },
      ],
    });
    expect(result).toEqual({ outcome: 'no farm', grantId: 'support-no-farm-key' });
  });

  it('answers pending while no game worker runs it and pays once when one does; a key whose compensation was terminated runs again', async () => {
    const queue = `${g.gameTaskQueue}-compensations`;
    const later = createCompensations({
      client: g.t.client,
      gameTaskQueue: queue,
      maxCoins: MAX_COINS,
      resultWaitMs: 1_000,
    });
    const before = await coinsOf(code);
    const request = {
      userHash: code,
      coins: 9,
      reason: 'paid late',
      idempotencyKey: randomUUID(),
      by: 'alice',
    };
    expect(await later.grant(request)).toMatchObject({ status: 'pending', confirmed: false });
    await g.t.client.workflow
      .getHandle(supportGrantWorkflowId(code, request.idempotencyKey))
      .terminate('terminated in a test before any worker ran it');
    expect(await later.grant(request)).toMatchObject({ status: 'pending' });
    const worker = await g.t.startWorker({}, queue);
    try {
      const settled = await eventually(
        async () => {
          const answer = await later.grant(request);
          return answer.status === 'pending' ? undefined : answer;
        },
        10_000,
        'a worker runs the compensation',
      );
      expect(settled).toMatchObject({ status: 'already granted', coins: 9, confirmed: true });
      expect(await coinsOf(code)).toBe(before + 9);
    } finally {
      await worker.stop();
    }
  });

  it('refuses a key reused for another amount, amounts over the cap, and unknown players', async () => {
    const key = randomUUID();
    const base = { userHash: code, coins: 5, reason: 'sorry', idempotencyKey: key, by: 'alice' };
    await compensations.grant(base);
    await expect(compensations.grant({ ...base, coins: 6 })).rejects.toBeInstanceOf(
      CompensationConflictError,
    );
    await expect(
      compensations.grant({ ...base, coins: MAX_COINS + 1, idempotencyKey: randomUUID() }),
    ).rejects.toBeInstanceOf(CompensationRequestError);
    await expect(
      compensations.grant({ ...base, userHash: 'aaaaaaaaaaaaaaaa', idempotencyKey: randomUUID() }),
    ).rejects.toBeInstanceOf(UnknownPlayerError);
  });
});

describe('the /support API', () => {
  const get = (url: string, token?: string) =>
    app.inject({
      method: 'GET',
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });

  it('opens to a support token and to the admin token, and says who each is', async () => {
    expect((await get('/support/session', ALICE_TOKEN)).json()).toMatchObject({
      name: 'alice',
      role: 'support',
      grantMaxCoins: MAX_COINS,
    });
    expect((await get('/support/session', ADMIN_TOKEN)).json()).toMatchObject({
      name: 'admin',
      role: 'admin',
    });
    const story = await get(`/support/players/${code}?limit=3`, ALICE_TOKEN);
    expect(story.statusCode).toBe(200);
    expect(story.json<PlayerStory>()).toMatchObject({ userHash: code });
    expect(story.json<PlayerStory>().timeline).toHaveLength(3);
  });

  it('refuses a wrong or missing token (401), and a support token under /admin', async () => {
    expect((await get(`/support/players/${code}`)).statusCode).toBe(401);
    expect((await get(`/support/players/${code}`, 'x'.repeat(64))).statusCode).toBe(401);
    expect((await get('/admin/schedules', ALICE_TOKEN)).statusCode).toBe(401);
    expect((await get('/admin/schedules', ADMIN_TOKEN)).statusCode).toBe(200);
  });

  it('limits failed attempts per address across /support and /admin (429, the right token too)', async () => {
    const limited = await supportApp(2);
    try {
      const at = (url: string, token: string) =>
        limited.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
      expect((await at('/support/session', 'y'.repeat(40))).statusCode).toBe(401);
      expect((await at('/admin/schedules', 'y'.repeat(40))).statusCode).toBe(401);
      const refused = await at('/support/session', ALICE_TOKEN);
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['retry-after']).toBeDefined();
    } finally {
      await limited.close();
    }
  });

  it('answers 400 for a malformed code or query and 404 for an unknown code, with a clear message', async () => {
    const malformed = await get('/support/players/NOT-A-CODE', ALICE_TOKEN);
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json<{ error: string }>().error).toMatch(/support code is 16 characters/);
    expect((await get(`/support/players/${code}?limit=0`, ALICE_TOKEN)).statusCode).toBe(400);
    expect((await get(`/support/players/${code}?before=yesterday`, ALICE_TOKEN)).statusCode).toBe(
      400,
    );
    const unknown = await get('/support/players/aaaaaaaaaaaaaaaa', ALICE_TOKEN);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json<{ error: string }>().error).toMatch(/no player has the support code/);
  });

  it('grants a compensation once per key: 201, then 200; 409 for the key reused; 400 over the cap', async () => {
    const post = (body: object) =>
      app.inject({
        method: 'POST',
        url: `/support/players/${code}/grants`,
        headers: { authorization: `Bearer ${ALICE_TOKEN}` },
        payload: body,
      });
    const body = { coins: 12, reason: 'api test', idempotencyKey: randomUUID() };
    const first = await post(body);
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ status: 'granted', by: 'alice', coins: 12 });
    expect((await post(body)).statusCode).toBe(200);
    expect((await post({ ...body, coins: 13 })).statusCode).toBe(409);
    const capped = await post({ ...body, coins: MAX_COINS + 1, idempotencyKey: randomUUID() });
    expect(capped.statusCode).toBe(400);
    expect(capped.json<{ error: string }>().error).toMatch(`from 1 to ${MAX_COINS}`);
    expect((await post({ coins: 1, reason: 'x', idempotencyKey: 'short' })).statusCode).toBe(400);
  });
});
