/**
 * Reward batches against the real dev server and Redis (no Telegram: the farms' reward messages
 * go to a notifications queue nobody polls here). The game worker runs in a child process, so
 * that it can be killed with SIGKILL in the middle of a batch.
 *
 * 2,000 farms are started directly with the client, 150 and then 1,850, so a `joinedBefore`
 * batch has a known population. Each starts as a farm continued as new from a registered, published run
 * would (carried state), and the test writes its copy into Redis with the same store function the
 * farm's publishPlayer uses: a fresh farm's own registration and publish would triple the worker's
 * work while the farms are made, and this file is about what happens after.
 *
 * No rebuild marker is set under the file's prefix, so the first batch meets a copy that is not
 * whole: it starts the real RedisBackfillWorkflow (on the child worker), waits, and goes on once
 * the backfill has marked the copy whole. Later tests start (or wait for) the real backfill
 * themselves when the marker is unset, so each stands on its own.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { WorkflowNotFoundError } from '@temporalio/client';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type AdminApp, buildAdminApp } from '../../bot/admin/app';
import { STARTING_COINS } from '../../game';
import { encryptChatId } from '../../infra/identity';
import { createLogger } from '../../infra/logging';
import {
  BatchAlreadyRanError,
  type BatchOperations,
  createBatchOperations,
  type GrantRequest,
} from '../../schedules/batches';
import { OWNED_ID_PREFIX, weeklyPrizeSchedule } from '../../schedules/catalog';
import { runSchedulesCli } from '../../schedules/commands';
import { createScheduleOperations } from '../../schedules/engine';
import { WEEKLY_PRIZE } from '../../schedules/prizes';
import { writePlayerCopy } from '../../store/leaderboard';
import { createPlayerRegistry } from '../../store/players';
import { createRebuildMarker } from '../../store/rebuild-marker';
import { startRedisBackfill } from '../../activities/redis-backfill';
import { connectRedis, keyspace, type RedisClient } from '../../store/redis';
import {
  type BatchProgress,
  batchWorkflowId,
  farmWorkflowId,
  getFarmLogQuery,
  getFarmQuery,
  type PlayerBatchResult,
  redisBackfillWorkflowId,
  WORKFLOW_TYPES,
  type WeeklyPrizeResult,
} from '../../workflows/contract';
import { isoWeek } from '../../workflows/weekly-prize';
import { REDIS_URL } from '../support/constants';
import { registeredFarm, TEST_SECRET, TEST_TIME_SCALE } from '../support/game';
import { ROOT } from '../support/processes';
import { eventually } from '../support/schedules';
import { connectTestTemporal, type TestTemporal } from '../support/temporal';

/** Players who joined before the middle time, then after it. */
const EARLY = 150;
const LATE = 1_850;
const ALL = EARLY + LATE;
const TOKEN = 'batch-test-admin-token-0123456789abcdef';

let t: TestTemporal;
let redis: RedisClient;
let keyPrefix: string;
let batches: BatchOperations;
const children = new Set<ChildProcess>();
const earlyPlayers: string[] = [];
const latePlayers: string[] = [];
let midMs = 0;

/** A game worker in a child process on this file's task queue; resolves once it polls. */
async function startChildWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/game-worker-child.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: t.address,
      TEST_TASK_QUEUE: t.taskQueue,
      REDIS_URL,
      TEST_KEY_PREFIX: keyPrefix,
      TEST_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
      SHARED_FILES_DIR: t.sharedFilesDir,
      USER_HASH_SECRET: TEST_SECRET,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  let output = '';
  child.on('exit', (code, signal) => {
    children.delete(child);
    // Only the tests kill it (SIGKILL): any other end is what a failure after it needs to say.
    if (signal !== 'SIGKILL') {
      process.stderr.write(
        `a game worker exited by itself (code ${code}, signal ${signal}); its last output:\n${output.slice(-4000)}\n`,
      );
    }
  });
  child.stderr.on('data', (c: Buffer) => {
    output += c.toString();
    if (process.env.BATCH_TEST_DEBUG) process.stderr.write(c);
  });
  await eventually(
    async () => (output.includes('ready') ? true : undefined),
    30_000,
    'worker ready',
  );
  return child;
}

async function startFarms(count: number, into: string[]) {
  const limit = pLimit(32);
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      limit(async () => {
        const userHash = `b${randomUUID().replaceAll('-', '').slice(0, 20)}`;
        into.push(userHash);
        const sealedChatId = encryptChatId(1_000_000 + i, TEST_SECRET);
        const joinedAtMs = Date.now();
        const carried = registeredFarm(joinedAtMs);
        await t.client.workflow.start(WORKFLOW_TYPES.gameFarm, {
          workflowId: farmWorkflowId(userHash),
          taskQueue: t.taskQueue,
          args: [{ userHash, sealedChatId, timeScale: TEST_TIME_SCALE, carried }],
        });
        await writePlayerCopy(redis, keyPrefix, {
          userHash,
          sealedChatId,
          joinedAtMs,
          xp: 0,
          xpReachedAtMs: joinedAtMs,
          displayName: null,
          notifications: true,
          reachable: true,
        });
      }),
    ),
  );
}

const registry = () => createPlayerRegistry(redis, keyPrefix);
const registered = (count: number) =>
  eventually(
    async () => {
      const n = await registry().count();
      if (process.env.BATCH_TEST_DEBUG) process.stderr.write(`registered ${n}\n`);
      return n === count ? true : undefined;
    },
    60_000,
    `${count} players registered`,
  );
const marker = () => createRebuildMarker(redis, keyPrefix);
/**
 * Redis's copy marked whole by the real backfill: waits for the one running (the first test's),
 * or starts one if none has finished, so each test can run without the ones before it.
 */
async function copyWhole() {
  if (await marker().completedAt()) return;
  const backfill = await startRedisBackfill(t.client, { keyPrefix, gameTaskQueue: t.taskQueue });
  expect(await backfill.result()).toMatchObject({ state: 'done' });
  expect(await marker().completedAt()).not.toBeNull();
}

/** Each farm's coins and XP, and the grants in its log, p-limited. */
async function farmsOf(userHashes: string[]) {
  const limit = pLimit(32);
  return Promise.all(
    userHashes.map((userHash) =>
      limit(async () => {
        const farm = t.client.workflow.getHandle(farmWorkflowId(userHash));
        const [snapshot, log] = await Promise.all([
          farm.query(getFarmQuery),
          farm.query(getFarmLogQuery),
        ]);
        return {
          userHash,
          coins: snapshot.farm.coins,
          xp: snapshot.farm.xp,
          grants: log.flatMap((entry) => (entry.kind === 'grant' ? [entry] : [])),
        };
      }),
    ),
  );
}

const resultOf = (batchId: string) =>
  t.client.workflow.getHandle(batchWorkflowId(batchId)).result() as Promise<PlayerBatchResult>;

/** `npm run schedules -- progress <batchId>` in process, stdout not a terminal (a line each 200 ms). */
async function followInCli(batchId: string) {
  let stdout = '';
  const status = await runSchedulesCli(['progress', batchId], {
    operations: () => Promise.reject(new Error('not needed')),
    world: () => Promise.reject(new Error('not needed')),
    batches: async () => batches,
    redisBackfill: () => Promise.reject(new Error('not needed')),
    progressLineIntervalMs: 200,
    stdout: (text) => (stdout += text),
    stderr: (text) => (stdout += text),
    logger: createLogger('silent', new Writable({ write: (_c, _e, done) => done() })),
  });
  return { status, stdout };
}

beforeAll(async () => {
  t = await connectTestTemporal();
  redis = await connectRedis(REDIS_URL, createLogger('warn'));
  keyPrefix = `${inject('redisKeyPrefix')}${randomUUID().slice(0, 8)}:`;
  batches = createBatchOperations({
    client: t.client,
    gameTaskQueue: t.taskQueue,
    redis: async () => ({ redis, keyPrefix }),
  });
  await startChildWorker();
  const t0 = Date.now();
  await startFarms(EARLY, earlyPlayers);
  if (process.env.BATCH_TEST_DEBUG)
    process.stderr.write(`started ${EARLY} in ${Date.now() - t0} ms\n`);
  await registered(EARLY);
  midMs = Date.now() + 1;
  await new Promise((resolve) => setTimeout(resolve, 5));
  await startFarms(LATE, latePlayers);
  await registered(ALL);
}, 150_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await redis?.close();
  await t?.close();
});

describe('PlayerBatchWorkflow', () => {
  const half: GrantRequest = {
    batchId: `early-birds-${randomUUID().slice(0, 8)}`,
    coins: 11,
    xp: 0,
    reason: 'early birds',
    population: { kind: 'joinedBefore', beforeMs: 0 },
    pageSize: 100,
    parallelism: 16,
  };

  it("waits while Redis's copy is not whole, the real backfill rebuilds it, then pays; a dry run counts the population and its total", async () => {
    const request = { ...half, population: { kind: 'joinedBefore' as const, beforeMs: midMs } };
    expect(await batches.preview(request)).toEqual({
      batchId: half.batchId,
      players: EARLY,
      coins: EARLY * 11,
      xp: 0,
      registryWhole: false,
    });
    // The dry run started nothing.
    await expect(
      t.client.workflow.getHandle(batchWorkflowId(half.batchId)).describe(),
    ).rejects.toBeInstanceOf(WorkflowNotFoundError);

    // No rebuild has finished under this prefix: the batch starts the real backfill (it lists
    // every farm of the task queue through visibility and queries each) and waits for it.
    expect(await marker().completedAt()).toBeNull();
    expect((await batches.start(request)).status).toBe('started');
    await expect
      .poll(async () => (await batches.progress(half.batchId)).state, {
        timeout: 60_000,
        interval: 100,
      })
      .toBe('waiting');
    const backfill = t.client.workflow.getHandle(redisBackfillWorkflowId(keyPrefix));
    expect((await backfill.describe()).type).toBe(WORKFLOW_TYPES.redisBackfill);
    expect(await backfill.result()).toMatchObject({ state: 'done', done: ALL, failures: 0 });
    expect(await marker().completedAt()).not.toBeNull();

    // The CLI follows it with one line per interval (stdout is not a terminal), exit 0 at done.
    const { status, stdout } = await followInCli(half.batchId);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.every((l) => /^(waiting|running|done) \d+\/\d+ \(\d+%\) /.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(
      new RegExp(`^done ${EARLY}/${EARLY} \\(100%\\) [\\d.]+/s ETA 0s failures 0$`),
    );
    expect(status).toBe(0);

    const result = await resultOf(half.batchId);
    expect(result).toMatchObject({ outcome: 'done', population: EARLY, done: EARLY, failures: 0 });
    expect(result.paidCoins).toBe(EARLY * 11);
  }, 120_000);

  it('pays 2,000 players exactly once with the game worker killed (SIGKILL) mid-batch and the batch started twice', async () => {
    const request: GrantRequest = {
      batchId: `outage-${randomUUID().slice(0, 8)}`,
      coins: 7,
      xp: 3,
      reason: 'sorry for the outage',
      message: 'Sorry! Here are 7 coins.',
      population: { kind: 'all' },
      pageSize: 100,
      parallelism: 32,
    };
    await copyWhole();
    expect(await batches.preview(request)).toMatchObject({
      players: ALL,
      coins: ALL * 7,
      xp: ALL * 3,
      registryWhole: true,
    });
    expect((await batches.start(request)).status).toBe('started');
    const seen: BatchProgress[] = [];
    await expect
      .poll(
        async () => {
          const progress = await batches.progress(request.batchId);
          seen.push(progress);
          return progress.done;
        },
        { timeout: 60_000, interval: 100 },
      )
      .toBeGreaterThan(50);
    // A second start (an operator's retry) attaches to the running batch.
    expect((await batches.start(request)).status).toBe('attached');

    const [worker] = children;
    worker!.kill('SIGKILL');
    await new Promise((resolve) => worker!.once('exit', resolve));
    const stalled = await batches.progress(request.batchId).catch(() => null);
    await startChildWorker();

    const result = await resultOf(request.batchId);
    expect(result).toMatchObject({
      outcome: 'done',
      population: ALL,
      done: ALL,
      failures: 0,
      paidCoins: ALL * 7,
      paidXp: ALL * 3,
    });
    // The progress query moved: some reading between the first page and the end.
    expect(seen.some((p) => p.done > 0 && p.done < ALL && p.ratePerSecond > 0)).toBe(true);
    expect(stalled === null || stalled.done < ALL).toBe(true);

    // Each farm shows this grant once, and its coins are what its logged grants paid (other
    // tests' batches included), so nothing was paid twice or off the record.
    const farms = await farmsOf([...earlyPlayers, ...latePlayers]);
    const grantId = (userHash: string) => `${request.batchId}:${userHash}`;
    for (const farm of farms) {
      const mine = farm.grants.filter((g) => g.grantId === grantId(farm.userHash));
      expect(mine).toMatchObject([{ coins: 7, xp: 3 }]);
      expect(farm.coins).toBe(STARTING_COINS + farm.grants.reduce((sum, g) => sum + g.coins, 0));
      expect(farm.xp).toBe(farm.grants.reduce((sum, g) => sum + g.xp, 0));
    }

    // The id has run: starting it again is refused, naming when and what it paid.
    const refused = batches.start(request);
    await expect(refused).rejects.toBeInstanceOf(BatchAlreadyRanError);
    await expect(refused).rejects.toThrow(
      new RegExp(
        `has already run \\(started .*, closed .*; done: ${ALL} of ${ALL} players, paid ${ALL * 7} coins and ${ALL * 3} XP\\)`,
      ),
    );
  }, 300_000);

  it('pays the weekly prize to the top players once, though its schedule is triggered twice', async () => {
    await copyWhole();
    // The leaderboard's sorted set as the leaderboard writes it (score XP; member time|hash).
    const board = keyspace(keyPrefix)('leaderboard', 'xp');
    const ranked = latePlayers.slice(0, 12);
    await redis.zAdd(
      board,
      ranked.map((userHash, i) => ({
        score: 1000 - i,
        value: `${String(999_999_999_999_999 - 1_000).padStart(15, '0')}|${userHash}`,
      })),
    );
    const idPrefix = `batch-test-${randomUUID().slice(0, 8)}-`;
    const schedules = createScheduleOperations({
      client: t.client,
      idPrefix,
      definitions: [
        weeklyPrizeSchedule(WEEKLY_PRIZE, {
          timeScale: TEST_TIME_SCALE,
          taskQueue: t.taskQueue,
          idPrefix,
        }),
      ],
    });
    const scheduleId = `${idPrefix}weekly-prize`;
    expect((await schedules.apply()).created).toEqual([scheduleId]);
    try {
      await schedules.trigger(scheduleId);
      // Runs are named to the second: the second trigger is a run of its own.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await schedules.trigger(scheduleId);
      const query = `WorkflowType = '${WORKFLOW_TYPES.weeklyPrize}' AND TaskQueue = '${t.taskQueue}' AND ExecutionStatus = 'Completed'`;
      const runs = async () => {
        const found = [];
        for await (const run of t.client.workflow.list({ query })) found.push(run);
        return found;
      };
      await expect.poll(async () => (await runs()).length, { timeout: 30_000 }).toBe(2);
      const outcomes = await Promise.all(
        (await runs()).map(
          (run) =>
            t.client.workflow
              .getHandle(run.workflowId, run.runId)
              .result() as Promise<WeeklyPrizeResult>,
        ),
      );
      const batchId = `weekly-prize-${isoWeek(Date.now())}`;
      expect(outcomes.map((o) => o.outcome).sort()).toEqual(['already started', 'started']);
      expect(outcomes.every((o) => o.batchId === batchId)).toBe(true);

      const result = await resultOf(batchId);
      expect(result).toMatchObject({ outcome: 'done', population: 10, done: 10, paidCoins: 1700 });
      const farms = await farmsOf(ranked);
      const prizes = [500, 300, 200, 100, 100, 100, 100, 100, 100, 100];
      farms.forEach((farm, i) => {
        const prize = farm.grants.filter((g) => g.grantId === `${batchId}:${farm.userHash}`);
        expect(prize.map((g) => g.coins)).toEqual(i < 10 ? [prizes[i]] : []);
        expect(farm.coins).toBe(STARTING_COINS + farm.grants.reduce((sum, g) => sum + g.coins, 0));
      });
    } finally {
      await schedules.delete(scheduleId);
    }
  }, 90_000);

  it('serves batches over the admin API: dry run, start, attach, progress, list, refusals', async () => {
    await copyWhole();
    const app: AdminApp = await buildAdminApp({
      logger: createLogger('silent'),
      token: TOKEN,
      redis,
      keyPrefix,
      operations: createScheduleOperations({
        client: t.client,
        definitions: [],
        idPrefix: OWNED_ID_PREFIX,
      }),
      batches,
    });
    try {
      const call = (method: 'GET' | 'POST', url: string, payload?: object) =>
        app.inject({
          method,
          url: `/admin${url}`,
          headers: { authorization: `Bearer ${TOKEN}` },
          ...(payload ? { payload } : {}),
        });
      const batchId = `admin-${randomUUID().slice(0, 8)}`;
      const body = {
        batchId,
        coins: 2,
        reason: 'admin test',
        population: { kind: 'joinedBefore', before: new Date(midMs).toISOString() },
      };
      const dry = await call('POST', '/batches', { ...body, dryRun: true });
      expect(dry.statusCode).toBe(200);
      expect(dry.json()).toMatchObject({ batchId, players: EARLY, coins: 2 * EARLY, xp: 0 });

      expect((await call('POST', '/batches', { ...body, coins: -1 })).statusCode).toBe(400);
      expect(
        (await call('POST', '/batches', { ...body, population: { kind: 'joinedBefore' } }))
          .statusCode,
      ).toBe(400);
      expect((await call('POST', '/batches', { ...body, batchId: 'no spaces' })).statusCode).toBe(
        400,
      );
      expect((await call('GET', '/batches/no-such-batch')).statusCode).toBe(404);

      const started = await call('POST', '/batches', body);
      expect(started.statusCode).toBe(202);
      expect(started.json()).toEqual({
        batchId,
        workflowId: batchWorkflowId(batchId),
        status: 'started',
      });
      const again = await call('POST', '/batches', body);
      // Still running: attached; already over: refused. Both start nothing new.
      expect([200, 409]).toContain(again.statusCode);

      const progress = await call('GET', `/batches/${batchId}`);
      expect(progress.statusCode).toBe(200);
      // The total is known once the batch has counted its population.
      await expect
        .poll(async () => (await call('GET', `/batches/${batchId}`)).json<BatchProgress>().total)
        .toBe(EARLY);

      await resultOf(batchId);
      const refused = await call('POST', '/batches', body);
      expect(refused.statusCode).toBe(409);
      expect(refused.json<{ error: string }>().error).toContain(
        `batch "${batchId}" has already run`,
      );

      const listed = await call('GET', '/batches');
      expect(listed.statusCode).toBe(200);
      const ids = listed.json<{ batches: { batchId: string; status: string }[] }>().batches;
      expect(ids).toContainEqual(expect.objectContaining({ batchId, status: 'COMPLETED' }));
    } finally {
      await app.close();
    }
  }, 60_000);

  it('reports a batch terminated before it finished as incomplete, and progress exits 1', async () => {
    await copyWhole();
    const request: GrantRequest = {
      batchId: `stopped-${randomUUID().slice(0, 8)}`,
      coins: 1,
      xp: 0,
      reason: 'stopped by an operator',
      population: { kind: 'all' },
      pageSize: 1,
      parallelism: 1,
    };
    expect((await batches.start(request)).status).toBe('started');
    const handle = t.client.workflow.getHandle(batchWorkflowId(request.batchId));
    await expect
      .poll(async () => (await batches.progress(request.batchId)).done, { interval: 100 })
      .toBeGreaterThan(0);
    await handle.terminate('an operator stopped it');

    // Its query still answers what it had done, as "running": the progress says incomplete.
    const progress = await batches.progress(request.batchId);
    expect(progress).toMatchObject({ state: 'incomplete', etaMs: 0 });
    expect(progress.done).toBeLessThan(ALL);
    expect(progress.failureSamples[0]).toBe('the workflow was terminated before it finished');

    const { status, stdout } = await followInCli(request.batchId);
    expect(stdout).toMatch(
      /^incomplete \d+\/\d+ .*the workflow was terminated before it finished/m,
    );
    expect(status).toBe(1);
  }, 120_000);

  it('npm run schedules -- progress prints one line and exits 0 for a finished batch when stdout is not a terminal', async () => {
    // The first test's batch, finished (started here if that test did not get to it).
    await copyWhole();
    await batches
      .start({ ...half, population: { kind: 'joinedBefore', beforeMs: midMs } })
      .catch((err: unknown) => {
        if (!(err instanceof BatchAlreadyRanError)) throw err;
      });
    await resultOf(half.batchId);
    const ran = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'schedules/cli.ts', 'progress', half.batchId],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, TEMPORAL_ADDRESS: t.address },
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(ran.stderr).toBe('');
    expect(ran.stdout).toMatch(
      new RegExp(`^done ${EARLY}/${EARLY} \\(100%\\) [\\d.]+/s ETA 0s failures 0\\n$`),
    );
    expect(ran.status).toBe(0);
  }, 120_000);
});
