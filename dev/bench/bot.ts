/**
 * `npm run bench:bot`: what the Telegram side costs on top of the game. 200 simulated players
 * play at once through the local Bot API server and the bot's webhook, closed-loop: each sends its
 * next update when the screen for the previous one has arrived. Beside it, in the same run, as
 * many players send the same intents straight to the game client the bot uses. Prints updates/s
 * and latency p50/p95/p99 of both, where the webhook's latency ends at the Bot API call that
 * carries the result screen, and where the time goes; the last two lines are the p50 and
 * throughput ratios. `-- --profile <dir>` adds a CPU profile of this process's main thread.
 *
 * This process runs what a bot deployment runs (the bot service with its per-message worker, a
 * game worker) and the direct players; the simulated Telegram (dev/bench/bot-telegram.ts) runs in a
 * process of its own, as Telegram does, so the report can tell the bot's CPU from Telegram's.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createFarmActivities } from '../../activities/farm';
import { WEBHOOK_PATH } from '../../bot/routes/webhook';
import { MAX_INTENTS_IN_FLIGHT, startBotService } from '../../bot/service';
import type { GameClient, Player } from '../../bot/game-client';
import { farmWorkflowId } from '../../workflows/contract';
import type { Config } from '../../infra/config';
import type { Shutdown } from '../../infra/shutdown';
import { DEFAULT_MAX_CONNECTIONS } from '../bot-api/updates';
import { freePort } from '../temporal/server';
import { createWorker } from '../../worker/create-worker';
import { farmflowDataConverter } from '../../store/payload-files';
import { bundleWorkflows } from '../../worker/bundle';
import {
  advance,
  BENCH_BOT_TOKEN,
  CYCLE,
  COMMAND_EVERY,
  PLAYERS,
  type Reply,
  type Request,
  type Sample,
  type ScriptPosition,
  THROTTLE,
  type WebhookBlock,
  type WebhookSummary,
} from './bot-script';
import { type CpuReading, type CpuSpent, cpuBetween, readCpu } from './cpu';
import { connectBenchRedis, runUntilShutdown, startBenchTemporal } from './harness';
import { formatTable, summarize } from './measure';
import { type BenchOutcome, type BenchRun, runBench } from './run';
import { type ProfileSummary, WindowProfiler } from './profile';

/** Wheat (2 min at scale 1) is ready 0.12 ms after planting: no player ever waits for a crop. */
const BENCH_TIME_SCALE = 1e-6;
type Path = 'webhook' | 'direct';

/**
 * The paths take turns in short blocks, webhook, direct, direct, webhook and again, so that
 * drift over the run (a warming process, a growing server) and slow spells of a shared host touch
 * both alike: on this kind of machine the same path measured 15% apart in two blocks a minute
 * apart. The start of each block is not counted: all its players start at once from an idle
 * system, and the queues (the game client's, Telegram's) take a round of play to fill.
 */
const RAMP_MS = 6_000;
const WINDOW_MS = 15_000;
const SCHEDULE: readonly Path[] = [
  'webhook',
  'direct',
  'direct',
  'webhook',
  'webhook',
  'direct',
  'direct',
  'webhook',
];

interface Block {
  path: Path;
  windowStart: number;
  windowEnd: number;
  samples: Sample[];
  cpu: CpuSpent;
  /** Webhook only: Bot API calls by method inside the window. */
  calls?: Record<string, number>;
  /** With --profile: the main thread's time in the window, by component. */
  profile?: ProfileSummary;
}

/** When the bot's game client started and ended an intent, by player. */
interface IntentStamp {
  startMs: number;
  endMs?: number;
}

async function main({ config, logger, shutdown, say }: BenchRun): Promise<BenchOutcome> {
  const run = randomUUID().slice(0, 8);
  const bundling = bundleWorkflows(logger);
  const temporal = await startBenchTemporal({ config, shutdown, say });
  const workflowBundle = await bundling;
  const keyPrefix = `farmflow-bench-bot:${run}:`;
  const redis = await connectBenchRedis(config, logger, shutdown, keyPrefix);
  const connection = await NativeConnection.connect({ address: temporal.address });
  shutdown.add('temporal connection', () => connection.close());

  const userHashSecret = `farmflow-bench-${randomUUID()}`;
  const queues = {
    game: `farmflow-bench-bot-${run}-game`,
    mainMenu: `farmflow-bench-bot-${run}-main-menu`,
  };
  const dataConverter = farmflowDataConverter(config.sharedFilesDir);
  const gameWorker = await createWorker({
    connection,
    dataConverter,
    namespace: config.temporal.namespace,
    taskQueue: queues.game,
    workflowBundle,
    activities: createFarmActivities({ redis, keyPrefix, userHashSecret }),
  });
  runUntilShutdown(gameWorker, shutdown);

  // Stopped after the bot (steps run last-added first), so the bot's last replies still land.
  const telegram = await startTelegram(shutdown);
  const httpPort = await freePort();
  const botConfig: Config = {
    ...config,
    temporal: { ...config.temporal, address: temporal.address },
    redis: { ...config.redis, keyPrefix },
    http: { host: '127.0.0.1', port: httpPort },
    // The benchmark measures the bot, not the admin API, and must not take a running game's port.
    admin: { ...config.admin, token: undefined },
    telegram: {
      token: BENCH_BOT_TOKEN,
      apiRoot: telegram.url,
      mode: 'webhook',
      webhookUrl: `http://127.0.0.1:${httpPort}${WEBHOOK_PATH}`,
      webhookSecret: randomBytes(24).toString('base64url'),
    },
    userHashSecret,
    gameTimeScale: BENCH_TIME_SCALE,
  };
  const service = await startBotService({
    config: botConfig,
    logger,
    redis,
    connection,
    workflowBundle,
    taskQueues: queues,
  });
  shutdown.add('bot', () => service.stop());

  const firstUserId = 1_000_000_000 + Math.floor(Math.random() * 1e9);
  const userIds = Array.from({ length: 2 * PLAYERS }, (_, i) => firstUserId + i);
  // On a server of its own these die with it; on TEMPORAL_ADDRESS's they must not linger.
  const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter });
  shutdown.add('benchmark farms', () =>
    Promise.allSettled(
      userIds.map((id) =>
        client.workflow
          .getHandle(farmWorkflowId(service.game.userHashOf(id)))
          .terminate('benchmark finished'),
      ),
    ),
  );

  const { values: flags } = parseArgs({ options: { profile: { type: 'string' } } });
  const profiler = flags.profile === undefined ? undefined : new WindowProfiler(flags.profile);
  if (profiler) shutdown.add('profiler', async () => profiler.close());
  const bench = new BotBench(telegram, service.game, run, profiler, {
    server: temporal.devServerPid,
    telegram: telegram.pid,
  });
  say(`bench: ${temporal.server}; ${PLAYERS} players start through the webhook…`);
  await bench.setup(firstUserId, firstUserId + PLAYERS);
  for (const path of SCHEDULE) {
    say(`bench: ${path} players play…`);
    await bench.block(path, WINDOW_MS);
  }

  const summary = (await telegram.request({ type: 'summary' })) as WebhookSummary;
  for (const [what, n] of summary.failures) bench.fail(what, n);
  return {
    report: bench.report(temporal.server, config.temporal.namespace, summary),
    failed: bench.failures.size > 0,
  };
}

interface Telegram {
  url: string;
  pid: number | undefined;
  request(request: DistributiveOmit<Request, 'id'>): Promise<unknown>;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Forks the simulated Telegram (it inherits tsx from this process) and waits for its server. */
async function startTelegram(shutdown: Shutdown): Promise<Telegram> {
  const child: ChildProcess = fork(join(__dirname, 'bot-telegram.ts'), [], {
    // Its output goes to stderr with the logs: stdout carries the report alone.
    stdio: ['ignore', 2, 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 0;
  let closed = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    child.on('message', (reply: Reply) => {
      if (reply.type === 'ready') return resolve(reply.url);
      const waiter = pending.get(reply.id);
      pending.delete(reply.id);
      if (reply.error !== undefined)
        waiter?.reject(new Error(`simulated Telegram: ${reply.error}`));
      else waiter?.resolve(reply.result);
    });
    child.once('exit', (code, signal) => {
      const error = new Error(`the simulated Telegram exited (${code ?? signal})`);
      reject(error);
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
    });
  });
  const request = (message: DistributiveOmit<Request, 'id'>) =>
    new Promise<unknown>((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, { resolve, reject });
      child.send({ ...message, id });
    });
  shutdown.add('simulated Telegram', async () => {
    if (closed || child.exitCode !== null || child.signalCode !== null) return;
    closed = true;
    await Promise.race([request({ type: 'close' }), exited]);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  });
  return { url, pid: child.pid, request };
}

class BotBench {
  readonly failures = new Map<string, number>();
  private readonly blocks: Block[] = [];
  private readonly intents = new Map<number, IntentStamp[]>();
  private readonly direct: GameClient['handleIntent'];
  private readonly players: (ScriptPosition & { player: Player; failed: boolean })[] = [];
  private counter = 0;
  private profiled = 0;

  constructor(
    private readonly telegram: Telegram,
    game: GameClient,
    private readonly run: string,
    private readonly profiler: WindowProfiler | undefined,
    private readonly pids: { server?: number; telegram?: number },
  ) {
    // The bot calls this very object (its services hold it): timing it from here splits a
    // webhook update into what comes before the game, the game, and what comes after.
    const handleIntent = game.handleIntent.bind(game);
    this.direct = handleIntent;
    game.handleIntent = async (player, intent, updateId) => {
      const stamp: IntentStamp = { startMs: Date.now() };
      const stamps = this.intents.get(player.telegramUserId);
      if (stamps) stamps.push(stamp);
      else this.intents.set(player.telegramUserId, [stamp]);
      try {
        return await handleIntent(player, intent, updateId);
      } finally {
        stamp.endMs = Date.now();
      }
    };
  }

  fail(what: string, n = 1): void {
    this.failures.set(what, (this.failures.get(what) ?? 0) + n);
  }

  /** /start through the webhook for the webhook's players, a farm screen for the direct ones. */
  async setup(webhookUserId: number, directUserId: number): Promise<void> {
    for (let index = 0; index < PLAYERS; index++) {
      const id = directUserId + index;
      this.players.push({
        index,
        step: 0,
        cycle: 0,
        player: { telegramUserId: id, chatId: id },
        failed: false,
      });
    }
    await Promise.all([
      this.telegram.request({ type: 'setup', firstUserId: webhookUserId, players: PLAYERS }),
      ...this.players.map((sim) =>
        this.direct(sim.player, { type: 'query' }, `bench-${this.run}-${++this.counter}`),
      ),
    ]);
  }

  /** One step of a direct player: the intent the webhook player's button stands for. */
  private async directStep(sim: (typeof this.players)[number]): Promise<Sample> {
    const { intent } = CYCLE[sim.step]!;
    const startMs = Date.now();
    const { screen } = await this.direct(sim.player, intent, `bench-${this.run}-${++this.counter}`);
    const endMs = Date.now();
    const expected = intent.type === 'query' ? 'farm' : 'actionDone';
    if (screen.kind !== expected) {
      this.fail(`expected a ${expected} screen, the game answered ${screen.kind}`);
      sim.failed = true;
    }
    advance(sim);
    return { userId: sim.player.telegramUserId, startMs, endMs };
  }

  private mark(): { at: number; cpu: CpuReading } {
    return { at: Date.now(), cpu: readCpu(this.pids) };
  }

  /** Every player of one path plays through the ramp and the window; then updates in flight finish. */
  async block(path: Path, windowMs: number): Promise<void> {
    const startAt = Date.now() + 20;
    const windowStart = startAt + RAMP_MS;
    const windowEnd = windowStart + windowMs;
    const profiler = this.profiler;
    let first: ReturnType<BotBench['mark']> | undefined;
    let last: ReturnType<BotBench['mark']> | undefined;
    let profiling: Promise<ProfileSummary | undefined> = Promise.resolve(undefined);
    const timers = [
      setTimeout(() => {
        first = this.mark();
        if (profiler) profiling = profiler.start().then(() => undefined);
      }, windowStart - Date.now()),
      setTimeout(() => {
        last = this.mark();
        if (profiler) {
          const name = `bench-bot-${path}-${++this.profiled}`;
          profiling = profiling.then(() => profiler.stop(name));
        }
      }, windowEnd - Date.now()),
    ];

    let samples: Sample[];
    let calls: Record<string, number> | undefined;
    if (path === 'webhook') {
      this.intents.clear();
      const result = (await this.telegram.request({
        type: 'block',
        startAt,
        windowStart,
        windowEnd,
      })) as WebhookBlock;
      samples = result.samples.map((sample) => this.withIntent(sample));
      calls = result.calls;
    } else {
      await new Promise((resolve) => setTimeout(resolve, startAt - Date.now()));
      samples = [];
      await Promise.all(
        this.players.map(async (sim) => {
          while (!sim.failed && Date.now() < windowEnd) samples.push(await this.directStep(sim));
        }),
      );
      samples = samples.filter((s) => s.endMs >= windowStart && s.endMs <= windowEnd);
    }
    for (const timer of timers) clearTimeout(timer);
    const profile = await profiling;
    if (!first || !last) throw new Error('a block ended before its window did');
    this.blocks.push({
      path,
      windowStart: first.at,
      windowEnd: last.at,
      samples,
      cpu: cpuBetween(first.cpu, last.cpu),
      calls,
      profile,
    });
  }

  /** The bot's game-client call for this update: the player's first one after the send. */
  private withIntent(sample: Sample): Sample & { intent?: IntentStamp } {
    const intent = this.intents
      .get(sample.userId)
      ?.find(
        (stamp) => stamp.startMs >= sample.startMs && (stamp.endMs ?? Infinity) <= sample.endMs,
      );
    return intent ? { ...sample, intent } : sample;
  }

  report(server: string, namespace: string, summary: WebhookSummary): string {
    const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(0) : '-');
    const of = (path: Path) => this.blocks.filter((block) => block.path === path);
    const seconds = (blocks: Block[]) =>
      blocks.reduce((sum, b) => sum + (b.windowEnd - b.windowStart), 0) / 1000;
    const samplesOf = (blocks: Block[]) => blocks.flatMap((block) => block.samples);
    const rate = (blocks: Block[]) => samplesOf(blocks).length / seconds(blocks);
    const latency = (blocks: Block[]) => samplesOf(blocks).map((s) => s.endMs - s.startMs);
    const cpuPerUpdate = (blocks: Block[], pick: (spent: CpuSpent) => number | undefined) => {
      let total = 0;
      for (const block of blocks) {
        const value = pick(block.cpu);
        if (value === undefined) return '-';
        total += value;
      }
      return (total / samplesOf(blocks).length).toFixed(1);
    };
    const row = (label: string, path: Path) => {
      const blocks = of(path);
      const values = latency(blocks);
      const stats = summarize(values);
      const busy = blocks.map((b) => b.cpu.machineBusy ?? Number.NaN);
      return [
        label,
        String(stats.n),
        rate(blocks).toFixed(1),
        ms(stats.p50),
        ms(stats.p95),
        ms(stats.p99),
        ms(values.reduce((a, b) => a + b, 0) / values.length),
        cpuPerUpdate(blocks, (c) => c.self),
        cpuPerUpdate(blocks, (c) => c.processes.telegram),
        cpuPerUpdate(blocks, (c) => c.processes.server),
        cpuPerUpdate(blocks, (c) => c.others),
        `${((busy.reduce((a, b) => a + b, 0) / busy.length) * 100).toFixed(0)}%`,
      ];
    };

    const web = samplesOf(of('webhook')) as (Sample & { intent?: IntentStamp })[];
    const stage = (label: string, pick: (s: (typeof web)[number]) => number | undefined) => {
      const values = web
        .map(pick)
        .filter((v): v is number => v !== undefined && Number.isFinite(v));
      const stats = summarize(values);
      return [label, String(stats.n), ms(stats.p50), ms(stats.p95), ms(stats.p99)];
    };
    const direct = summarize(latency(of('direct')));
    const webhook = summarize(latency(of('webhook')));

    const calls = new Map<string, number>();
    for (const block of of('webhook'))
      for (const [method, n] of Object.entries(block.calls ?? {}))
        calls.set(method, (calls.get(method) ?? 0) + n);
    const perUpdate = [...calls]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([method, n]) => `${method} ${(n / web.length).toFixed(2)}`)
      .join(', ');
    const share = (n: number) => `${((n / Math.max(1, web.length)) * 100).toFixed(0)}%`;

    const lines = [
      '',
      `farmflow bench:bot — ${server}, namespace ${namespace}`,
      `Node ${process.version}, ${availableParallelism()} cores; ${PLAYERS} players per path, closed loop ` +
        `(each sends its next update when the last one's screen arrived, no think time); ` +
        `${SCHEDULE.length} blocks of ${(RAMP_MS + WINDOW_MS) / 1000} s (${SCHEDULE.join(', ')}), ` +
        `each counting the updates whose screen arrived after its first ${RAMP_MS / 1000} s ` +
        '(so that mean latency = players / throughput).',
      `Script: /start once, then Plant on 1 → Wheat → Refresh → Harvest → Sell over and over, every ` +
        `${COMMAND_EVERY}th Refresh typed as /farm (${share(web.filter((s) => s.command).length)} of ` +
        'updates are commands, the rest button presses); 2 of 5 updates read the farm, 3 change it.',
      'webhook: simulated Telegram (local Bot API server, limits on, in a process of its own) → ' +
        'POST /telegram/webhook → grammY → game client; latency ends when the ' +
        'editMessageText/sendMessage carrying the result screen reaches the Bot API server.',
      'direct: as many players sending the same intents straight to the game client the bot uses.',
      "At this load most of an update's time is waiting its turn: the game client runs " +
        `${MAX_INTENTS_IN_FLIGHT} intents at once and queues the rest, first come first served; on ` +
        `the webhook path Telegram also POSTs at most ${DEFAULT_MAX_CONNECTIONS} updates at once ` +
        '(max_connections) and holds the others.',
      'CPU ms per update: this process (bot, workers, direct players), the simulated Telegram, ' +
        'the Temporal dev server, everything else on the host; busy: the whole machine.',
      '',
      formatTable([
        [
          '',
          'updates',
          'per s',
          'p50',
          'p95',
          'p99',
          'mean',
          'this process',
          'Telegram',
          'Temporal',
          'others',
          'busy',
        ],
        row('webhook → result screen', 'webhook'),
        row('direct: game client', 'direct'),
      ]),
      '',
      'A webhook update, ms:',
      formatTable([
        ['', 'n', 'p50', 'p95', 'p99'],
        stage('send → the bot calls the game client (incl. wait at Telegram)', (s) =>
          sub(s.intent?.startMs, s.startMs),
        ),
        stage('game client inside the bot (queue + game)', (s) =>
          sub(s.intent?.endMs, s.intent?.startMs),
        ),
        stage('game answered → screen at the Bot API', (s) => sub(s.endMs, s.intent?.endMs)),
        stage('press → callback answer at the Bot API', (s) => sub(s.answerMs, s.startMs)),
        stage('send → webhook answered', (s) => sub(s.webhookDoneMs, s.startMs)),
      ]),
      `Bot API calls per webhook update: ${perUpdate}`,
      `"working…" shown before the result: ${share(web.filter((s) => s.working).length)} of webhook updates`,
      ...profileTable(of('webhook'), of('direct')),
      `throttle (bot/throttle.ts, ${THROTTLE.points} per ${THROTTLE.windowMs / 1000} s): a player sent at most ` +
        `${summary.maxBurst} updates in any ${THROTTLE.windowMs / 1000} s; slow-down answers: ${summary.slowDowns}`,
      this.failures.size === 0
        ? 'failures: none'
        : `failures:\n${[...this.failures].map(([what, n]) => `  ${n} × ${what}`).join('\n')}`,
      `ratio webhook-reply p50 / direct p50: ${(webhook.p50 / direct.p50).toFixed(2)}`,
      `ratio webhook throughput / direct throughput: ${(rate(of('webhook')) / rate(of('direct'))).toFixed(2)}`,
    ];
    return `${lines.join('\n')}\n`;
  }
}

/** This process's main thread per update by component, from --profile's CPU profiles. */
function profileTable(webhook: Block[], direct: Block[]): string[] {
  const perUpdate = (blocks: Block[]) => {
    const totals = new Map<string, number>();
    let updates = 0;
    for (const block of blocks) {
      if (!block.profile) return undefined;
      updates += block.samples.length;
      for (const [component, ms] of block.profile.components)
        totals.set(component, (totals.get(component) ?? 0) + ms);
    }
    for (const [component, ms] of totals) totals.set(component, ms / updates);
    return totals;
  };
  const web = perUpdate(webhook);
  const dir = perUpdate(direct);
  if (!web || !dir) return [];
  const components = [...new Set([...web.keys(), ...dir.keys()])].sort(
    (a, b) => (web.get(b) ?? 0) - (web.get(a) ?? 0),
  );
  const busy = (totals: Map<string, number>) =>
    [...totals].reduce((sum, [component, ms]) => (component === 'idle' ? sum : sum + ms), 0);
  const cell = (value: number) => value.toFixed(2);
  return [
    "This process's main thread, ms per update (sampled wall time, CPU profiles saved as .cpuprofile;" +
      ' the profiler slows the webhook path more than the direct one: take the ratios from a run without it):',
    formatTable([
      ['', 'webhook', 'direct', 'difference'],
      ...components.map((component) => {
        const w = web.get(component) ?? 0;
        const d = dir.get(component) ?? 0;
        return [component, cell(w), cell(d), cell(w - d)];
      }),
      ['busy (all but idle)', cell(busy(web)), cell(busy(dir)), cell(busy(web) - busy(dir))],
    ]),
  ];
}

const sub = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : a - b;

runBench(main);
