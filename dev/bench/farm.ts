/**
 * `npm run bench:farm`: what a player's message costs, next to two baselines measured in the same
 * run on the same server — the naive one (a new workflow calling one ordinary no-op activity) and
 * Temporal's floor for a message (an eagerly started empty workflow, then one update on a running,
 * cached workflow). Prints p50/p95/p99 at concurrency 1 and 32; the last line is the ratio of
 * MainMenuMessage's p50 to the floor's at concurrency 1.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import type { Intent, Player } from '../../bot/game-client';
import { farmWorkflowId, getFarmQuery, grantRewardSignal } from '../../workflows/contract';
import { CROPS, type FarmAction, STARTING_PLOTS, xpForLevel } from '../../game';
import { type BenchGame, type MainMenuActivities, startBenchGame } from './harness';
import { formatTable, runLanes, Samples, summarize } from './measure';
import { type BenchOutcome, type BenchRun, runBench } from './run';
import { BASELINE_WORKFLOW_TYPES, touchTargetUpdate } from './shared';

/** Strawberries (4 h at scale 1, 12 per harvest) ripen in 14 ms: stocking a farm takes moments. */
const BENCH_TIME_SCALE = 1e-6;
const C1 = { warmup: 20, iterations: 200, block: 10 };
const C32 = { lanes: 32, warmup: 2, iterations: 10 };
/** Lanes 0..31 run at concurrency 32; this one alone runs at concurrency 1. */
const C1_LANE = C32.lanes;

const OPERATIONS = [
  { key: 'query', label: 'MainMenuQuery' },
  { key: 'message', label: 'MainMenuMessage' },
  { key: 'naive', label: 'naive: new workflow + 1 activity' },
  { key: 'floor', label: 'floor: eager empty + 1 update' },
] as const;
type Operation = (typeof OPERATIONS)[number]['key'];

/** Parts of the rows above, timed inside them. */
const PARTS = [
  { key: 'readFarm', label: '  MainMenuQuery: readFarm body' },
  { key: 'applyFarmAction', label: '  MainMenuMessage: applyFarmAction body' },
  { key: 'floorStart', label: '  floor: eager empty workflow' },
  { key: 'floorUpdate', label: '  floor: update on running workflow' },
] as const;

/** Always applies while the farm holds strawberries: one real farm update, no timers. */
const SELL: Intent = {
  type: 'message',
  action: { type: 'sell', cropId: 'strawberry', quantity: 1 },
};

async function main({ config, logger, shutdown, say }: BenchRun): Promise<BenchOutcome> {
  const samples = new Samples();
  /** The concurrency being measured; null while warming up or stocking farms. */
  let phase: number | null = null;
  const record = (name: string, ms: number) => {
    if (phase !== null) samples.add(`${name}@${phase}`, ms);
  };
  const timed =
    <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const started = performance.now();
      try {
        return await fn(...args);
      } finally {
        record(name, performance.now() - started);
      }
    };

  const bench = await startBenchGame({
    config,
    logger,
    shutdown,
    say,
    timeScale: BENCH_TIME_SCALE,
    wrapMainMenuActivities: (activities: MainMenuActivities) => ({
      readFarm: timed('readFarm', activities.readFarm.bind(activities)),
      applyFarmAction: timed('applyFarmAction', activities.applyFarmAction.bind(activities)),
    }),
  });
  const run = randomUUID().slice(0, 8);
  let counter = 0;
  const unique = () => `${run}-${(counter += 1)}`;
  const failures = new Map<string, number>();
  const fail = (what: string) => failures.set(what, (failures.get(what) ?? 0) + 1);
  /** Empty workflows the worker did not take eagerly, by concurrency. */
  const notEager = new Map<number, number>();

  const firstUserId = 1_000_000_000 + Math.floor(Math.random() * 1e9);
  const players: Player[] = Array.from({ length: C32.lanes + 1 }, (_, lane) => ({
    telegramUserId: firstUserId + lane,
    chatId: firstUserId + lane,
  }));
  // On a server of its own these die with it; on TEMPORAL_ADDRESS's they must not linger.
  const farms = players.map((player) =>
    bench.eagerClient.workflow.getHandle(
      farmWorkflowId(bench.game.userHashOf(player.telegramUserId)),
    ),
  );
  const targets: WorkflowHandle[] = [];
  shutdown.add('benchmark workflows', () =>
    Promise.allSettled(
      [...farms, ...targets].map((workflow) => workflow.terminate('benchmark finished')),
    ),
  );
  say(`bench: ${bench.server}; stocking ${players.length} farms…`);
  await Promise.all(
    players.map(async (player, lane) => {
      const units = lane === C1_LANE ? C1.warmup + C1.iterations : C32.warmup + C32.iterations;
      await stockFarm(bench, player, units, unique);
    }),
  );
  for (let lane = 0; lane < players.length; lane++) {
    targets.push(
      await bench.eagerClient.workflow.start(BASELINE_WORKFLOW_TYPES.updateTarget, {
        taskQueue: bench.baselineTaskQueue,
        workflowId: `bench-update-target-${run}-${lane}`,
      }),
    );
  }

  const steps: Record<Operation, (lane: number) => Promise<void>> = {
    async query(lane) {
      const { screen } = await bench.game.handleIntent(
        players[lane] as Player,
        { type: 'query' },
        unique(),
      );
      if (screen.kind !== 'farm') fail(`MainMenuQuery answered ${screen.kind}`);
    },
    async message(lane) {
      const { screen } = await bench.game.handleIntent(players[lane] as Player, SELL, unique());
      if (screen.kind === 'actionRefused') fail(`MainMenuMessage refused: ${screen.reason}`);
      else if (screen.kind !== 'actionDone') fail(`MainMenuMessage answered ${screen.kind}`);
    },
    async naive() {
      await bench.plainClient.workflow.execute(BASELINE_WORKFLOW_TYPES.oneActivity, {
        taskQueue: bench.baselineTaskQueue,
        workflowId: `bench-naive-${unique()}`,
      });
    },
    async floor(lane) {
      const started = performance.now();
      const empty = await bench.eagerClient.workflow.start(BASELINE_WORKFLOW_TYPES.empty, {
        taskQueue: bench.baselineTaskQueue,
        workflowId: `bench-empty-${unique()}`,
        requestEagerStart: true,
      });
      if (!empty.eagerlyStarted && phase !== null) {
        notEager.set(phase, (notEager.get(phase) ?? 0) + 1);
      }
      await empty.result();
      const emptyDone = performance.now();
      await (targets[lane] as WorkflowHandle).executeUpdate(touchTargetUpdate);
      record('floorStart', emptyDone - started);
      record('floorUpdate', performance.now() - emptyDone);
    },
  };

  const measure = async (operation: Operation, lanes: number, iterations: number) => {
    const lane = (i: number) => (lanes === 1 ? C1_LANE : i);
    const key = `${operation}@${phase}`;
    const cpuBefore = process.cpuUsage();
    const wallMs = await runLanes(
      lanes,
      iterations,
      (i) => steps[operation](lane(i)),
      (ms) => {
        if (phase !== null) samples.add(key, ms);
      },
    );
    if (phase === null) return;
    const cpu = process.cpuUsage(cpuBefore);
    samples.addWall(key, wallMs);
    samples.addCpu(key, (cpu.user + cpu.system) / 1000);
  };

  say('bench: concurrency 1…');
  phase = null;
  for (const { key } of OPERATIONS) await measure(key, 1, C1.warmup);
  phase = 1;
  // Interleaved blocks, so that drift during the run (server caches, GC) touches every row alike.
  for (let done = 0; done < C1.iterations; done += C1.block) {
    for (const { key } of OPERATIONS) await measure(key, 1, C1.block);
  }

  say(`bench: concurrency ${C32.lanes}…`);
  phase = null;
  for (const { key } of OPERATIONS) await measure(key, C32.lanes, C32.warmup);
  phase = C32.lanes;
  for (const { key } of OPERATIONS) await measure(key, C32.lanes, C32.iterations);
  phase = null;

  return { report: formatReport(bench, samples, notEager, failures), failed: failures.size > 0 };
}

/**
 * Creates the player's farm through the game itself and fills its barn with `units` strawberries,
 * so that every measured sell applies.
 */
async function stockFarm(bench: BenchGame, player: Player, units: number, unique: () => string) {
  const act = async (action: FarmAction) => {
    const { screen } = await bench.game.handleIntent(player, { type: 'message', action }, unique());
    if (screen.kind !== 'actionDone') {
      throw new Error(
        `stocking a farm: ${action.type} answered ${screen.kind === 'actionRefused' ? screen.reason : screen.kind}`,
      );
    }
    return screen.event;
  };
  const crop = CROPS.strawberry;
  const harvests = Math.ceil(units / crop.yield);
  const plots = Math.min(STARTING_PLOTS, harvests);
  const rounds = Math.ceil(harvests / plots);
  const { userHash } = await bench.game.handleIntent(player, { type: 'query' }, unique());
  const farm = bench.eagerClient.workflow.getHandle(farmWorkflowId(userHash));
  const xp = xpForLevel(crop.unlockLevel);
  await farm.signal(grantRewardSignal, {
    grantId: `bench-stock-${userHash}`,
    issuedAtMs: Date.now(),
    coins: crop.seedPrice * plots * rounds,
    xp,
    reason: 'benchmark stock',
  });
  for (let tries = 0; (await farm.query(getFarmQuery)).farm.xp < xp; tries++) {
    if (tries > 200) throw new Error('stocking a farm: the grant never arrived');
    await sleep(10);
  }
  for (let round = 0; round < rounds; round++) {
    let readyAtMs = 0;
    for (let plotId = 0; plotId < plots; plotId++) {
      const event = await act({ type: 'plant', plotId, cropId: crop.id });
      if (event.type === 'planted') readyAtMs = Math.max(readyAtMs, event.readyAtMs);
    }
    await sleep(Math.max(0, readyAtMs - Date.now()) + 5);
    for (let plotId = 0; plotId < plots; plotId++) {
      await act({ type: 'harvest', plotId });
    }
  }
}

function formatReport(
  bench: BenchGame,
  samples: Samples,
  notEager: Map<number, number>,
  failures: Map<string, number>,
): string {
  const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '-');
  const row = (label: string, key: string, isOperation: boolean) => {
    const one = summarize(samples.get(`${key}@1`));
    const many = summarize(samples.get(`${key}@${C32.lanes}`));
    return [
      label,
      ms(one.p50),
      ms(one.p95),
      ms(one.p99),
      isOperation ? ms(samples.cpuPerIteration(`${key}@1`)) : '',
      ms(many.p50),
      ms(many.p95),
      ms(many.p99),
      isOperation ? samples.rate(`${key}@${C32.lanes}`).toFixed(0) : '',
    ];
  };
  const message = summarize(samples.get('message@1')).p50;
  const floor = summarize(samples.get('floor@1')).p50;
  const naive = summarize(samples.get('naive@1')).p50;
  const lines = [
    '',
    `farmflow bench:farm — ${bench.server}, namespace ${bench.namespace}`,
    `Node ${process.version}, ${availableParallelism()} cores; latency in ms per iteration. ` +
      `Concurrency 1: ${C1.iterations} iterations of each, interleaved in blocks of ${C1.block}; ` +
      `concurrency ${C32.lanes}: ${C32.lanes} players × ${C32.iterations}; warmed up first.`,
    'MainMenuMessage sells one strawberry (a real farm update); MainMenuQuery shows the farm.',
    "CPU: this process's CPU time per iteration at c=1 (the Temporal server's comes on top).",
    '',
    formatTable([
      ['', 'c=1 p50', 'p95', 'p99', 'CPU', `c=${C32.lanes} p50`, 'p95', 'p99', `c=${C32.lanes} /s`],
      ...OPERATIONS.map(({ key, label }) => row(label, key, true)),
      ...PARTS.map(({ key, label }) => row(label, key, false)),
    ]),
    '',
    ...[1, C32.lanes].map(
      (c) =>
        `floor at c=${c}: the worker declined the eager start of ${notEager.get(c) ?? 0} ` +
        `of ${samples.get(`floor@${c}`).length} empty workflows (no free workflow task slot)`,
    ),
    failures.size === 0
      ? 'failures: none'
      : `failures:\n${[...failures].map(([what, n]) => `  ${n} × ${what}`).join('\n')}`,
    `c=${C32.lanes} throughput main-menu-message / floor: ${(
      samples.rate(`message@${C32.lanes}`) / samples.rate(`floor@${C32.lanes}`)
    ).toFixed(2)}`,
    `main-menu-message p50 vs naive p50: ${ms(message)} vs ${ms(naive)} ms ` +
      `(${message < naive ? 'faster' : 'NOT faster'} than the naive baseline)`,
    `ratio main-menu-message p50 / floor: ${(message / floor).toFixed(2)}`,
  ];
  return `${lines.join('\n')}\n`;
}

runBench(main);
