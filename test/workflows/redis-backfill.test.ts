/**
 * The Redis backfill on the real dev server and Redis, with farms created through the game
 * client on this file's own task queues (no Telegram here: nothing is sent). Every key of this
 * file's Redis prefix is deleted (SCAN + DEL of its own prefix, never FLUSHDB), as a flush or a
 * failover to an empty replica would, and the backfill brings back the registry, the
 * leaderboard, the preferences and reachability, and the rebuild marker.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGameActivities } from '../../activities/game';
import { runningFarmsQuery, startRedisBackfill } from '../../activities/redis-backfill';
import { createLogger } from '../../infra/logging';
import { readProgress } from '../../schedules/batches';
import { runSchedulesCli } from '../../schedules/commands';
import { watchRedisCopy } from '../../worker/redis-copy-watch';
import { createLeaderboard } from '../../store/leaderboard';
import { createPlayerRegistry } from '../../store/players';
import { createRebuildMarker } from '../../store/rebuild-marker';
import {
  type BatchProgress,
  farmWorkflowId,
  getFarmLogQuery,
  grantRewardSignal,
  noticeSignal,
  type RedisBackfillInput,
  redisBackfillWorkflowId,
  setReachableSignal,
  USER_HASH_SEARCH_ATTRIBUTE,
  WORKFLOW_TYPES,
} from '../../workflows/contract';
import type { GameFarmWorkflow, RedisBackfillWorkflow } from '../../workflows';
import { encryptChatId, userHash as deriveUserHash } from '../../infra/identity';
import pLimit from 'p-limit';
import { eventually } from '../support/schedules';
import {
  newPlayer,
  nextUpdateId,
  startTestGame,
  TEST_SECRET,
  TEST_TIME_SCALE,
  type TestGame,
} from '../support/game';

let g: TestGame;
beforeAll(async () => {
  g = await startTestGame();
});
afterAll(async () => {
  await deletePrefix();
  await g.close();
});

/** What a Redis loss does to this game: every key of its prefix gone. */
async function deletePrefix() {
  for await (const keys of g.redis.scanIterator({ MATCH: `${g.keyPrefix}*`, COUNT: 1000 }))
    if (keys.length > 0) await g.redis.del(keys);
}

const registry = () => createPlayerRegistry(g.redis, g.keyPrefix);
const leaderboard = () => createLeaderboard(g.redis, g.keyPrefix);
const marker = () => createRebuildMarker(g.redis, g.keyPrefix);

function backfill(overrides: Partial<RedisBackfillInput> = {}) {
  return startRedisBackfill(g.t.client, {
    keyPrefix: g.keyPrefix,
    gameTaskQueue: g.gameTaskQueue,
    pageSize: 3,
    maxHistoryEvents: 40,
    ...overrides,
  });
}

interface Made {
  player: ReturnType<typeof newPlayer>;
  userHash: string;
  xp: number;
}

/** Players made through the game client; XP from grants (ties included), some opted out. */
async function makePlayers(xps: number[]): Promise<Made[]> {
  const made: Made[] = [];
  for (const xp of xps) {
    const player = newPlayer();
    const { userHash } = await g.game.handleIntent(player, { type: 'query' }, nextUpdateId());
    if (xp > 0)
      await g.t.client.workflow.getHandle(farmWorkflowId(userHash)).signal(grantRewardSignal, {
        grantId: `xp-${randomUUID()}`,
        issuedAtMs: Date.now(),
        coins: 0,
        xp,
        reason: 'test',
      });
    made.push({ player, userHash, xp });
  }
  return made;
}

/** Everything Redis's copy says of these players, as the game reads it. */
async function copyOf(players: Made[]) {
  const board = await leaderboard().top(Math.min(100, players.length));
  const records = await Promise.all(players.map((p) => registry().get(p.userHash)));
  const ranks = await Promise.all(players.map((p) => leaderboard().rank(p.userHash)));
  return { board, records, ranks, count: await registry().count() };
}

describe('after every key of the prefix is deleted, the backfill brings Redis back', () => {
  let players: Made[];
  let optedOut: Made;
  let blocked: Made;
  let before: Awaited<ReturnType<typeof copyOf>>;

  beforeAll(async () => {
    // Two ties (10 and 10, 0 and 0): the earlier to reach the XP ranks first, before and after.
    players = await makePlayers([30, 10, 0, 55, 10, 0, 7]);
    optedOut = players[1]!;
    blocked = players[3]!;
    await g.game.handleIntent(
      optedOut.player,
      { type: 'message', action: { type: 'setPreferences', notifications: false } },
      nextUpdateId(),
    );
    await g.t.client.workflow
      .getHandle(farmWorkflowId(blocked.userHash))
      .signal(setReachableSignal, { reachable: false });
    // Until every farm's own publish is in Redis.
    before = await eventually(
      async () => {
        const copy = await copyOf(players);
        const published =
          copy.records.every((r, i) => r !== null && copy.ranks[i]!.xp === players[i]!.xp) &&
          copy.records[1]?.notifications === false &&
          copy.records[3]?.active === false;
        return published ? copy : undefined;
      },
      20_000,
      "every farm's copy in Redis",
    );
  }, 60_000);

  it('restores the registry, the leaderboard, preferences and reachability, and the marker', async () => {
    expect(before.board.map((e) => e.xp)).toEqual([55, 30, 10, 10, 7, 0, 0]);
    expect(before.records[1]).toMatchObject({ notifications: false, active: true });
    expect(before.records[3]).toMatchObject({ notifications: true, active: false });

    await deletePrefix();
    expect(await copyOf(players)).toMatchObject({ board: [], count: 0 });
    expect(await marker().completedAt()).toBeNull();

    const handle = await backfill();
    const result = await handle.result();
    expect(result).toMatchObject({ state: 'done', done: players.length, failures: 0 });
    // Small pages and a low history limit: it paged and continued as new on the way.
    expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);

    const after = await copyOf(players);
    expect(after).toEqual(before);
    for (const [i, record] of after.records.entries()) {
      expect(record).toMatchObject({ userHash: players[i]!.userHash });
      expect(record!.sealedChatId).toMatch(/.+/);
      expect(record!.joinedAtMs).toBeGreaterThan(0);
    }
    expect(await marker().completedAt()).toBeInstanceOf(Date);
    // The registry a batch pages through counts every running farm.
    const farms = await g.t.client.workflow.count(runningFarmsQuery(g.gameTaskQueue));
    expect(after.count).toBe(farms.count);
  }, 60_000);

  it('leaves nobody who opted out or blocked the bot to be messaged: the farm still decides', async () => {
    const notice = (id: string) => ({
      notificationId: id,
      content: {
        topic: 'announcement' as const,
        eventId: 'fair',
        name: 'Fair',
        text: 'The fair is open.',
        endsAtMs: Date.now() + 60_000,
      },
      notAfterMs: Date.now() + 60_000,
    });
    for (const [player, skipped] of [
      [optedOut, 'notifications off'],
      [blocked, 'blocked'],
    ] as const) {
      const farm = g.t.client.workflow.getHandle(farmWorkflowId(player.userHash));
      const id = `after-rebuild-${randomUUID()}`;
      await farm.signal(noticeSignal, notice(id));
      const entry = await eventually(
        async () =>
          (await farm.query(getFarmLogQuery)).find(
            (e) => 'notificationId' in e && e.notificationId === id,
          ),
        10_000,
        'the notice in the farm log',
      );
      expect(entry).toMatchObject({ outcome: 'skipped', skipped });
    }
  });

  it('the CLI starts it, or attaches to the one running, and prints its progress to the end', async () => {
    await deletePrefix();
    const lines: string[] = [];
    const runIds: string[] = [];
    let stderr = '';
    const run = () =>
      runSchedulesCli(['backfill-redis'], {
        operations: async () => {
          throw new Error('schedule operations were needed');
        },
        world: async () => {
          throw new Error('world state was needed');
        },
        batches: async () => {
          throw new Error('batches were needed');
        },
        redisBackfill: async () => {
          const handle = await backfill();
          runIds.push(handle.firstExecutionRunId);
          return {
            workflowId: handle.workflowId,
            progress: () => readProgress(handle),
          };
        },
        stdout: (text) => lines.push(text),
        stderr: (text) => (stderr += text),
        logger: createLogger('warn'),
      });
    // Started twice at once: one backfill, both follow it to its end.
    expect(await Promise.all([run(), run()])).toEqual([0, 0]);
    expect(stderr).toBe('');
    const text = lines.join('');
    expect(text).toContain(`redis backfill ${redisBackfillWorkflowId(g.keyPrefix)}:`);
    expect(text).toContain(`done ${players.length}/${players.length} (100%)`);
    expect(text).toMatch(/done: 7 farms copied in .+; Redis's copy of the players is whole again/);
    expect(runIds[0]).toBe(runIds[1]);
    expect((await copyOf(players)).board).toEqual(before.board);
  }, 60_000);
});

describe("a worker's watch of Redis's copy", () => {
  it('starts the backfill when the copy is not marked whole, and nothing once it is', async () => {
    const handle = g.t.client.workflow.getHandle(redisBackfillWorkflowId(g.keyPrefix));
    // The CLI's test ran one: a loss after a backfill that made the copy whole starts another.
    const previous = (await handle.describe()).runId;
    await deletePrefix();
    const watch = watchRedisCopy({
      client: g.t.client,
      redis: g.redis,
      keyPrefix: g.keyPrefix,
      gameTaskQueue: g.gameTaskQueue,
      logger: createLogger('warn'),
    });
    try {
      // Its own first check, at start, started it.
      await eventually(
        async () => {
          const last = await handle.describe();
          return last.runId !== previous && last.status.name === 'COMPLETED' ? true : undefined;
        },
        30_000,
        'the backfill the watch started',
      );
      expect(await marker().completedAt()).toBeInstanceOf(Date);
      expect(await watch.check()).toBe('whole');
    } finally {
      await watch.stop();
    }
  }, 60_000);
});

describe('a loss during the backfill', () => {
  /**
   * A backfill whose worker loses Redis's keys while it copies: on every page (`always`), or on
   * the first round's first page only. The farms are still read through the game's own worker.
   */
  async function lossyBackfill(always: boolean) {
    const taskQueue = `${g.gameTaskQueue}-lossy-${randomUUID().slice(0, 4)}`;
    const activities = createGameActivities({
      redis: g.redis,
      keyPrefix: g.keyPrefix,
      userHashSecret: TEST_SECRET,
      client: g.t.client,
      gameTaskQueue: g.gameTaskQueue,
    });
    let pages = 0;
    const worker = await g.t.startWorker(
      {
        ...activities,
        async backfillFarmsPage(input: Parameters<typeof activities.backfillFarmsPage>[0]) {
          const page = await activities.backfillFarmsPage(input);
          pages += 1;
          if (always || pages === 1) await deletePrefix();
          return page;
        },
      },
      taskQueue,
    );
    try {
      const handle = await g.t.client.workflow.start<typeof RedisBackfillWorkflow>(
        WORKFLOW_TYPES.redisBackfill,
        {
          workflowId: `lossy-backfill-${randomUUID()}`,
          taskQueue,
          args: [{ gameTaskQueue: g.gameTaskQueue, pageSize: 50 }],
        },
      );
      return await handle.result();
    } finally {
      await worker.stop();
    }
  }

  it('never marks the copy whole when keys went during it; it goes again and then marks it', async () => {
    await makePlayers([3, 1]);
    await deletePrefix();
    const result = await lossyBackfill(false);
    expect(result.state).toBe('done');
    expect(await marker().completedAt()).toBeInstanceOf(Date);
    const farms = await g.t.client.workflow.count(runningFarmsQuery(g.gameTaskQueue));
    expect(await registry().count()).toBe(farms.count);
  }, 60_000);

  it('ends incomplete, with the marker unset, when Redis keeps losing keys', async () => {
    await deletePrefix();
    const result: BatchProgress = await lossyBackfill(true);
    expect(result.state).toBe('incomplete');
    expect(await marker().completedAt()).toBeNull();
  }, 60_000);
});

describe('how long it takes', () => {
  // 1,000 for the README figure (about 4 minutes here, mostly creating the farms); fewer in CI.
  const FARMS = 200;

  it(`copies ${FARMS} farms after a worker restart (cold cache), and says how long per 1,000`, async () => {
    // Only this test's farms are counted until the backfill: the earlier ones' keys are gone.
    await deletePrefix();
    const start = pLimit(32);
    await Promise.all(
      Array.from({ length: FARMS }, () =>
        start(async () => {
          const { telegramUserId, chatId } = newPlayer();
          const userHash = deriveUserHash(telegramUserId, TEST_SECRET);
          await g.t.client.workflow.start<typeof GameFarmWorkflow>(WORKFLOW_TYPES.gameFarm, {
            workflowId: farmWorkflowId(userHash),
            taskQueue: g.gameTaskQueue,
            args: [
              {
                userHash,
                sealedChatId: encryptChatId(chatId, TEST_SECRET),
                timeScale: TEST_TIME_SCALE,
              },
            ],
            typedSearchAttributes: [{ key: USER_HASH_SEARCH_ATTRIBUTE, value: userHash }],
          });
        }),
      ),
    );
    await eventually(
      async () => ((await registry().count()) >= FARMS ? true : undefined),
      180_000,
      'every new farm registered',
    );
    const farms = await eventually(
      async () => {
        const { count } = await g.t.client.workflow.count(runningFarmsQuery(g.gameTaskQueue));
        return count >= FARMS ? count : undefined;
      },
      30_000,
      'every new farm in visibility',
    );
    // A worker that just started has none of the farms in its cache: each query replays one.
    await g.gameWorker.stop();
    await g.startGameWorker();
    await deletePrefix();

    const startedAt = Date.now();
    const result = await (
      await backfill({ pageSize: undefined, maxHistoryEvents: undefined })
    ).result();
    const seconds = (Date.now() - startedAt) / 1000;
    expect(result).toMatchObject({ state: 'done', done: farms, failures: 0 });
    expect(await registry().count()).toBe(farms);
    process.stdout.write(
      `redis backfill: ${farms} farms in ${seconds.toFixed(1)} s (${((seconds * 1000) / farms).toFixed(1)} s per 1,000 farms)\n`,
    );
  }, 600_000);
});
