/**
 * `npm run bench:report`: how long a farm report takes, from the request to the picture kept in
 * the report store (reading the farm, claiming a file worker, drawing, publishing), one at a time
 * and `--concurrent` at once, against the baseline of the same run: a player opening the farm
 * (MainMenuQueryWorkflow). Drawing alone is timed too. API reports (no Telegram: the upload is
 * what Telegram's network makes it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { drawFarmReport } from '../../activities/report-picture';
import { createReportLinks, createReports } from '../../bot/reports';
import { startReportsWorker } from '../../bot/reports-worker';
import { createReportFiles } from '../../store/report-files';
import {
  farmReportWorkflowId,
  type FarmReportResult,
  farmWorkflowId,
  getCoinDaysQuery,
  getFarmQuery,
} from '../../workflows/contract';
import { startBenchGame } from './harness';
import { formatTable, summarize } from './measure';
import { type BenchOutcome, type BenchRun, runBench } from './run';

const { values: args } = parseArgs({
  options: {
    reports: { type: 'string', default: '30' },
    concurrent: { type: 'string', default: '8' },
  },
});
const REPORTS = Number(args.reports);
const CONCURRENT = Number(args.concurrent);

async function main({ config, logger, shutdown, say }: BenchRun): Promise<BenchOutcome> {
  if (
    !Number.isInteger(REPORTS) ||
    REPORTS < 2 ||
    !Number.isInteger(CONCURRENT) ||
    CONCURRENT < 1
  ) {
    throw new Error('--reports must be a whole number of at least 2, --concurrent at least 1');
  }
  const game = await startBenchGame({ config, logger, shutdown, say, timeScale: 1 });
  const sharedDir = mkdtempSync(join(tmpdir(), 'farmflow-bench-report-'));
  shutdown.add('report files', async () => rmSync(sharedDir, { recursive: true, force: true }));
  const files = createReportFiles(sharedDir);
  const reportsQueue = `${game.gameTaskQueue}-reports`;
  const worker = await startReportsWorker({
    connection: game.connection,
    client: game.eagerClient,
    dataConverter: game.dataConverter,
    namespace: game.namespace,
    // API reports only: nothing is sent to Telegram.
    token: '1:bench',
    apiRoot: 'http://127.0.0.1:9',
    redis: game.redis,
    keyPrefix: game.keyPrefix,
    userHashSecret: game.userHashSecret,
    files,
    links: createReportLinks(game.userHashSecret),
    publicUrl: 'http://127.0.0.1',
    workRoot: join(sharedDir, 'work'),
    logger,
    taskQueue: reportsQueue,
  });
  shutdown.add('reports worker', () => worker.stop());
  const reports = createReports({
    client: game.eagerClient,
    files,
    gameTaskQueue: game.gameTaskQueue,
    keepMs: 3_600_000,
    workflowOptions: { reportsTaskQueue: reportsQueue },
  });

  const players = Array.from({ length: CONCURRENT }, (_, i) => ({
    telegramUserId: 8_000_000 + i,
    chatId: 8_000_000 + i,
  }));
  for (const player of players) {
    await game.game.handleIntent(player, { type: 'query' }, `open-${player.telegramUserId}`);
    await game.game.handleIntent(
      player,
      { type: 'message', action: { type: 'claimDailyBonus' } },
      `bonus-${player.telegramUserId}`,
    );
  }
  const codes = players.map((p) => game.game.userHashOf(p.telegramUserId));

  const report = async (code: string) => {
    const start = performance.now();
    await reports.start(code);
    const result = (await game.eagerClient.workflow
      .getHandle(farmReportWorkflowId(code))
      .result()) as FarmReportResult;
    return { ms: performance.now() - start, bytes: result.bytes };
  };
  const opening = async (i: number) => {
    const start = performance.now();
    await game.game.handleIntent(players[0]!, { type: 'query' }, `baseline-${i}`);
    return performance.now() - start;
  };

  say(`${REPORTS} reports one at a time, interleaved with opening the farm`);
  const one: number[] = [];
  const baseline: number[] = [];
  let bytes = 0;
  for (let i = 0; i < REPORTS; i += 1) {
    const made = await report(codes[0]!);
    one.push(made.ms);
    bytes = made.bytes;
    baseline.push(await opening(i));
  }

  say(`${REPORTS} rounds of ${CONCURRENT} reports at once (${CONCURRENT} players)`);
  const many: number[] = [];
  const roundsBegan = performance.now();
  for (let i = 0; i < REPORTS; i += 1) {
    const made = await Promise.all(codes.map((code) => report(code)));
    many.push(...made.map((m) => m.ms));
  }
  const perSecond = (REPORTS * CONCURRENT) / ((performance.now() - roundsBegan) / 1000);

  say('drawing alone');
  const farm = game.eagerClient.workflow.getHandle(farmWorkflowId(codes[0]!));
  const snapshot = await farm.query(getFarmQuery);
  const data = {
    userHash: codes[0]!,
    displayName: null,
    asOfMs: snapshot.asOfMs,
    farm: snapshot.farm,
    coinDays: await farm.query(getCoinDaysQuery),
  };
  const drawing: number[] = [];
  for (let i = 0; i < REPORTS; i += 1) {
    const start = performance.now();
    await drawFarmReport(data);
    drawing.push(performance.now() - start);
  }

  const ms = (x: number) => x.toFixed(0);
  const row = (name: string, samples: number[]) => {
    const s = summarize(samples);
    return [name, ms(s.p50), ms(s.p95), ms(Math.max(...samples))];
  };
  const oneP50 = summarize(one).p50;
  const baselineP50 = summarize(baseline).p50;
  const text = [
    `bench:report on ${game.server}; ${REPORTS} reports one at a time, ${REPORTS}×${CONCURRENT} at once; picture ${(bytes / 1024).toFixed(0)} KiB`,
    formatTable([
      ['', 'p50 ms', 'p95 ms', 'max ms'],
      row('report, one at a time (request → picture kept)', one),
      row(`report, ${CONCURRENT} at once`, many),
      row('drawing alone (drawFarmReport)', drawing),
      row('baseline: opening the farm (MainMenuQuery)', baseline),
    ]),
    `reports a second at ${CONCURRENT} at once: ${perSecond.toFixed(1)}`,
    `ratio report p50 / opening the farm p50: ${(oneP50 / baselineP50).toFixed(2)}`,
    '',
  ].join('\n');
  return { report: text, failed: false };
}

runBench(main);
