/**
 * `npm run record:histories`: plays one full session on a fresh in-memory dev server (new farm,
 * plant, harvest, sell, buy a plot, the same grant twice, the daily bonus, continue-as-new, crops
 * ready, preferences, a reward with a message, a notice, a block and an unblock), a farm whose
 * worker has another USER_HASH_SECRET (its registration fails, it continues as new), a market tick
 * and a short calendar event with its announcement (the scheduled workflows, started directly), the
 * Redis backfill after the prefix's keys are deleted, a reward batch and a weekly prize, and writes
 * the histories to test/fixtures/histories/ as `<name>.<SHAPE>.json`, which CI replays
 * against the current workflow code. Fixtures of earlier shapes stay: running farms may still be
 * on them. Give SHAPE a new name when a `patched()` change adds a shape (see README).
 */
import { randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { NativeConnection } from '@temporalio/worker';
import { createFarmActivities } from '../activities/farm';
import { createGameActivities } from '../activities/game';
import { createMainMenuActivities } from '../activities/main-menu';
import { startRedisBackfill } from '../activities/redis-backfill';
import { createGameClient } from '../bot/game-client';
import { createReportLinks, createReports } from '../bot/reports';
import { startReportsWorker } from '../bot/reports-worker';
import { createCompensations } from '../bot/support/compensation';
import {
  batchWorkflowId,
  type CalendarEventInput,
  farmReportWorkflowId,
  farmWorkflowId,
  ACTION_UPDATES,
  grantRewardSignal,
  hasGrantQuery,
  noticeSignal,
  type PlayerBatchInput,
  setReachableSignal,
  type WeeklyPrizeInput,
  USER_HASH_SEARCH_ATTRIBUTE,
  WORKFLOW_TYPES,
} from '../workflows/contract';
import { loadTemporalCliPath, parseConfig } from '../infra/config';
import { createLogger } from '../infra/logging';
import { installTemporalRuntime } from '../worker/runtime';
import { connectRedis, deleteKeysWithPrefix } from '../store/redis';
import { ensureTemporalCli } from './temporal/cli';
import { startDevServer } from './temporal/server';
import { encryptChatId } from '../infra/identity';
import { createWorker } from '../worker/create-worker';
import { farmflowDataConverter, payloadFilesDir } from '../store/payload-files';
import { createReportFiles } from '../store/report-files';
import { bundleWorkflows } from '../worker/bundle';
import { type FarmAction, NEUTRAL_WORLD, newFarm } from '../game';
import { EVENT_ANNOUNCEMENTS_PATCH } from '../workflows/calendar-event';
import { PROFILES_AND_NOTIFICATIONS_PATCH, type GameFarmWorkflow } from '../workflows/farm';

const OUT_DIR = join(__dirname, '..', 'test', 'fixtures', 'histories');
/** The payload files the histories' references point to: `payloads/` under it, as under SHARED_FILES_DIR. */
const PAYLOAD_FIXTURES_DIR = join(__dirname, '..', 'test', 'fixtures');
/** The newest shape of the farm's history: the latest patch it records. */
const SHAPE = PROFILES_AND_NOTIFICATIONS_PATCH;
const SECRET = 'record-histories-secret-0123456789';
const OTHER_SECRET = 'record-histories-other-secret-987654';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const logger = createLogger('warn');
  installTemporalRuntime(logger);
  const cliPath = await ensureTemporalCli({
    configuredPath: loadTemporalCliPath(),
    say: (line) => process.stderr.write(`${line}\n`),
  });
  const server = await startDevServer({
    cliPath,
    port: 0,
    uiPort: null,
    logFile: join(tmpdir(), `farmflow-record-${process.pid}.log`),
  });
  const keyPrefix = `farmflow-record:${randomUUID().slice(0, 8)}:`;
  const redis = await connectRedis(parseConfig(process.env).redis.url, logger);
  const connection = await NativeConnection.connect({ address: server.address });
  const sharedFilesDir = join(tmpdir(), `farmflow-record-${process.pid}`);
  const dataConverter = farmflowDataConverter(sharedFilesDir);
  const client = new Client({ connection, dataConverter });
  const workflowBundle = await bundleWorkflows(logger);
  const workers = [
    await createWorker({
      connection,
      dataConverter,
      namespace: 'default',
      taskQueue: 'record-game',
      workflowBundle,
      activities: createGameActivities({
        redis,
        keyPrefix,
        userHashSecret: SECRET,
        client,
        gameTaskQueue: 'record-game',
      }),
    }),
    await createWorker({
      connection,
      dataConverter,
      namespace: 'default',
      taskQueue: 'record-menu',
      workflowBundle,
      activities: createMainMenuActivities({
        client,
        redis,
        keyPrefix,
        timeScale: 0.001,
        gameTaskQueue: 'record-game',
        farmMaxHistoryEvents: 60,
        notificationsTaskQueue: 'record-notifications',
      }),
    }),
    // No Telegram here: the recorder's notifications answer "sent" (only the farm's history counts).
    await createWorker({
      connection,
      dataConverter,
      namespace: 'default',
      taskQueue: 'record-notifications',
      activities: { sendNotification: () => Promise.resolve({ outcome: 'sent' }) },
    }),
    // A worker that was given another USER_HASH_SECRET than the bot.
    await createWorker({
      connection,
      dataConverter,
      namespace: 'default',
      taskQueue: 'record-game-other-secret',
      workflowBundle,
      activities: createFarmActivities({ redis, keyPrefix, userHashSecret: OTHER_SECRET }),
    }),
  ];
  const running = workers.map((w) => w.run());

  try {
    const game = createGameClient({ client, userHashSecret: SECRET, taskQueue: 'record-menu' });
    const player = { telegramUserId: 424242, chatId: 424242, firstName: 'Recorder' };
    const userHash = game.userHashOf(player.telegramUserId);
    let n = 0;
    const play = async (intent: Parameters<typeof game.handleIntent>[1]) =>
      (await game.handleIntent(player, intent, `rec-${(n += 1)}`)).screen;

    const opened = await play({ type: 'query' });
    const farm = client.workflow.getHandle(farmWorkflowId(userHash));
    const grant = {
      grantId: 'record-grant',
      issuedAtMs: Date.now(),
      coins: 300,
      xp: 30,
      reason: 'record',
    };
    await farm.signal(grantRewardSignal, grant);
    await farm.signal(grantRewardSignal, grant);
    await play({ type: 'message', action: { type: 'plant', plotId: 0, cropId: 'wheat' } });
    await sleep(200);
    await play({ type: 'message', action: { type: 'harvest', plotId: 0 } });
    const sold = await play({
      type: 'message',
      action: { type: 'sell', cropId: 'wheat', quantity: 2 },
    });
    await play({ type: 'message', action: { type: 'buyPlot' } });
    await play({ type: 'message', action: { type: 'claimDailyBonus' } });
    await play({ type: 'message', action: { type: 'plant', plotId: 1, cropId: 'corn' } });
    const firstRunId = (await farm.describe()).runId;
    while ((await farm.describe()).runId === firstRunId) {
      await play({ type: 'message', action: { type: 'plant', plotId: 2, cropId: 'wheat' } });
      await sleep(130);
      await play({ type: 'message', action: { type: 'harvest', plotId: 2 } });
    }
    await sleep(1000); // the corn ripens in the second run
    await play({ type: 'message', action: { type: 'harvest', plotId: 1 } });
    const secondRunId = (await farm.describe()).runId;
    if (opened.kind !== 'farm' || sold.kind !== 'actionDone')
      throw new Error('the session went wrong');

    // A farm whose registration fails (sealed under SECRET, opened with OTHER_SECRET).
    const lostHash = game.userHashOf(515151);
    const lost = await client.workflow.start<typeof GameFarmWorkflow>(WORKFLOW_TYPES.gameFarm, {
      workflowId: farmWorkflowId(lostHash),
      taskQueue: 'record-game-other-secret',
      args: [
        {
          userHash: lostHash,
          sealedChatId: encryptChatId(515151, SECRET),
          timeScale: 0.001,
          maxHistoryEvents: 30,
        },
      ],
      typedSearchAttributes: [{ key: USER_HASH_SEARCH_ATTRIBUTE, value: lostHash }],
    });
    for (let i = 0; (await lost.describe()).runId === lost.firstExecutionRunId; i++) {
      if (i > 50) throw new Error('the farm with a failed registration never continued as new');
      await lost.signal(grantRewardSignal, {
        grantId: `filler-${i}`,
        issuedAtMs: Date.now(),
        coins: 1,
        xp: 0,
        reason: 'record',
      });
    }

    // A farm that tells its player things: a ripening wave of two plots, preferences, a reward
    // message skipped and one sent, an event's notice, a block and an unblock (no forced
    // continue-as-new: one run holds it all).
    const toldHash = game.userHashOf(626262);
    const told = await client.workflow.start<typeof GameFarmWorkflow>(WORKFLOW_TYPES.gameFarm, {
      workflowId: farmWorkflowId(toldHash),
      taskQueue: 'record-game',
      args: [
        {
          userHash: toldHash,
          sealedChatId: encryptChatId(626262, SECRET),
          timeScale: 0.001,
          displayName: 'Recorder',
          notificationsTaskQueue: 'record-notifications',
        },
      ],
      typedSearchAttributes: [{ key: USER_HASH_SEARCH_ATTRIBUTE, value: toldHash }],
    });
    let actions = 0;
    const act = (action: FarmAction) =>
      told.executeUpdate(ACTION_UPDATES[action.type], {
        updateId: `told-${(actions += 1)}`,
        args: [{ actionId: `told-${actions}`, action, world: NEUTRAL_WORLD, displayName: 'Rec' }],
      });
    await act({ type: 'plant', plotId: 0, cropId: 'wheat' });
    await act({ type: 'plant', plotId: 1, cropId: 'wheat' });
    await sleep(2500); // the wave gathers for 2 s, then one message goes out
    await act({ type: 'setPreferences', notifications: false });
    const reward = (grantId: string) => ({
      grantId,
      issuedAtMs: Date.now(),
      coins: 5,
      xp: 1,
      reason: 'record',
      message: 'Well played!',
    });
    await told.signal(grantRewardSignal, reward('record-reward-skipped'));
    await act({ type: 'setPreferences', notifications: true, showName: false });
    await told.signal(grantRewardSignal, reward('record-reward-sent'));
    await told.signal(noticeSignal, {
      notificationId: 'record-notice',
      content: {
        topic: 'announcement',
        eventId: 'harvest-fair',
        name: 'Friday harvest fair',
        text: 'The harvest fair is open.',
        endsAtMs: Date.now() + 60_000,
      },
      notAfterMs: Date.now() + 60_000,
    });
    await told.signal(setReachableSignal, { reachable: false });
    await told.signal(setReachableSignal, { reachable: true });
    await sleep(1000);

    // The scheduled workflows, as their schedules start them.
    await client.workflow.execute(WORKFLOW_TYPES.marketTick, {
      workflowId: 'record-market-tick',
      taskQueue: 'record-game',
      args: [],
    });
    const fair: CalendarEventInput = {
      eventId: 'harvest-fair',
      name: 'Friday harvest fair',
      effect: { saleMultiplier: 2 },
      durationMs: 300,
      announcement: 'The harvest fair is open.',
    };
    await client.workflow.execute(WORKFLOW_TYPES.calendarEvent, {
      workflowId: 'record-calendar-event',
      taskQueue: 'record-game',
      args: [fair],
    });

    // The Redis backfill over this game's farms, after a loss of the prefix's keys, page by page.
    await deleteKeysWithPrefix(redis, keyPrefix);
    const backfill = await startRedisBackfill(client, {
      keyPrefix,
      gameTaskQueue: 'record-game',
      pageSize: 1,
    });
    if ((await backfill.result()).state !== 'done') throw new Error('the backfill went wrong');

    // A reward batch over both farms, a page per run, and a weekly prize with its batch.
    const batchInput: PlayerBatchInput = {
      batchId: 'record-batch',
      population: { kind: 'all' },
      payload: { kind: 'grant', coins: 3, xp: 0, reason: 'record', message: 'A gift' },
      pageSize: 1,
      pagesPerRun: 1,
    };
    const batch = await client.workflow.start(WORKFLOW_TYPES.playerBatch, {
      workflowId: batchWorkflowId(batchInput.batchId),
      taskQueue: 'record-game',
      args: [batchInput],
    });
    await batch.result();
    const prize: WeeklyPrizeInput = {
      prizes: [{ coins: 10, xp: 0 }],
      reason: 'record prize',
      message: 'You won',
    };
    const { batchId: prizeBatchId } = (await client.workflow.execute(WORKFLOW_TYPES.weeklyPrize, {
      workflowId: 'record-weekly-prize',
      taskQueue: 'record-game',
      args: [prize],
    })) as { batchId: string };
    await client.workflow.getHandle(batchWorkflowId(prizeBatchId)).result();
    const compensation = await createCompensations({
      client,
      gameTaskQueue: 'record-game',
      maxCoins: 100,
    }).grant({
      userHash,
      coins: 25,
      reason: 'record compensation',
      idempotencyKey: 'record-compensation',
      by: 'recorder',
    });

    // A farm report for an API client (no Telegram here): read, claimed, drawn, kept.
    const reportFiles = createReportFiles(sharedFilesDir);
    const reports = await startReportsWorker({
      connection,
      client,
      dataConverter,
      namespace: 'default',
      token: '1:record',
      apiRoot: 'http://127.0.0.1:9',
      redis,
      keyPrefix,
      userHashSecret: SECRET,
      files: reportFiles,
      links: createReportLinks(SECRET),
      publicUrl: 'http://127.0.0.1',
      workRoot: join(sharedFilesDir, 'work'),
      logger,
      taskQueue: 'record-reports',
    });
    await createReports({
      client,
      files: reportFiles,
      gameTaskQueue: 'record-game',
      keepMs: 60_000,
      workflowOptions: { reportsTaskQueue: 'record-reports' },
    }).start(userHash);
    await client.workflow.getHandle(farmReportWorkflowId(userHash)).result();
    await reports.stop();

    // A farm carrying more than Temporal's payload warning size: its start input goes by
    // reference (store/payload-files.ts), and the payload's file is kept beside the fixtures.
    const bigHash = game.userHashOf(616161);
    const appliedGrants: Record<string, number> = {};
    for (let i = 0; i < 5_000; i++) {
      appliedGrants[`batch-2026-11-${i}-daily-reward-for-everyone`] = Date.now();
    }
    const big = await client.workflow.start<typeof GameFarmWorkflow>(WORKFLOW_TYPES.gameFarm, {
      workflowId: farmWorkflowId(bigHash),
      taskQueue: 'record-game',
      args: [
        {
          userHash: bigHash,
          sealedChatId: encryptChatId(616161, SECRET),
          timeScale: 0.001,
          carried: {
            farm: newFarm(Date.now(), 0.001),
            readyCrops: [],
            appliedGrants,
            recentActions: {},
            registered: true,
          },
        },
      ],
      typedSearchAttributes: [{ key: USER_HASH_SEARCH_ATTRIBUTE, value: bigHash }],
    });
    await big.signal(grantRewardSignal, {
      grantId: 'record-big',
      issuedAtMs: Date.now(),
      coins: 5,
      xp: 0,
      reason: 'record',
    });
    while (!(await big.query(hasGrantQuery, 'record-big'))) await sleep(50);

    mkdirSync(OUT_DIR, { recursive: true });
    const write = async (
      name: string,
      workflowId: string,
      runId?: string,
      shape: string | null = SHAPE,
    ) => {
      const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
      const file = shape ? `${name}.${shape}.json` : `${name}.json`;
      writeFileSync(join(OUT_DIR, file), `${historyToJSON(history)}\n`);
    };
    await write('game-farm-first-run', farmWorkflowId(userHash), firstRunId);
    await write('game-farm-second-run', farmWorkflowId(userHash), secondRunId);
    await write('game-farm-notifications', told.workflowId, told.firstExecutionRunId);
    await write('main-menu-query', `main-menu-${userHash}-rec-1`);
    await write('main-menu-message-sell', `main-menu-${userHash}-rec-4`);
    await write('game-farm-registration-failed', lost.workflowId, lost.firstExecutionRunId);
    await write('market-tick', 'record-market-tick', undefined, null);
    await write('calendar-event', 'record-calendar-event', undefined, EVENT_ANNOUNCEMENTS_PATCH);
    await write('redis-backfill', backfill.workflowId, undefined, null);
    await write('player-batch', batch.workflowId, batch.firstExecutionRunId, null);
    await write('weekly-prize', 'record-weekly-prize', undefined, null);
    await write('support-grant', compensation.workflowId, undefined, null);
    await write('farm-report', farmReportWorkflowId(userHash), undefined, null);
    await write('game-farm-payload-reference', big.workflowId, big.firstExecutionRunId, null);
    rmSync(payloadFilesDir(PAYLOAD_FIXTURES_DIR), { recursive: true, force: true });
    cpSync(payloadFilesDir(sharedFilesDir), payloadFilesDir(PAYLOAD_FIXTURES_DIR), {
      recursive: true,
    });
    process.stdout.write(`histories written to ${OUT_DIR}\n`);
  } finally {
    for (const w of workers) w.shutdown();
    await Promise.all(running);
    await connection.close();
    await deleteKeysWithPrefix(redis, keyPrefix);
    await redis.close();
    await server.stop();
    rmSync(sharedFilesDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`farmflow: recording failed: ${String(err)}\n`);
  process.exit(1);
});
