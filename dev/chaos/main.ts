/**
 * `npm run chaos`: a play that proves nothing is lost when machines die. It starts a stack of its
 * own (dev/stack: the Temporal server on PostgreSQL, the bot and the worker as processes), lets
 * simulated players play through the webhook as Telegram delivers (./players.ts) while it kills
 * and restarts what production loses (./faults.ts), then checks every player's farm against what
 * the player was told (./facts.ts, ./checks.ts). It prints its findings; its last line is exactly
 * `<N> passed, <M> failed`, and it exits 1 when M > 0. The stack is stopped and dropped at the end
 * (`--keep` keeps it to look at).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { Command, InvalidArgumentError } from 'commander';
import { parseCommandLine, positiveNumber } from '../../infra/command-line';
import { livePidIn } from '../../infra/pids';
import { ConfigError, parseStackEnv, type StackEnv } from '../../infra/config';
import { createLogger } from '../../infra/logging';
import { farmflowDataConverter } from '../../store/payload-files';
import { installTemporalRuntime } from '../../worker/runtime';
import { connectRedis, deleteKeysWithPrefix, type RedisClient } from '../../store/redis';
import { ensureTemporalCli } from '../temporal/cli';
import { parsePostgresUrl, type PostgresTarget } from '../stack/postgres';
import { dropStack, type Stack, stackDir, startStack } from '../stack/stack';
import { ensureTemporalServer, serverPidFile, stopLeftover } from '../stack/temporal-server';
import { CHECKS, type Finding, runChecks, unanswered } from './checks';
import { readFacts, rewardsSent } from './facts';
import { BATCH_ID, BATCH_REWARD, planFaults, runFaults } from './faults';
import { startPlay, type UpdateRecord } from './players';

/**
 * Updates a second this stack sustained on this machine with players who never pause (measured
 * with `--think 0`, README "Chaos play"); the default think time keeps demand at half of it.
 */
export const SUSTAINED_UPDATES_PER_SECOND = 20;
/** After the play: how long updates still unanswered, the batch and the rebuild may take. */
const SETTLE_MS = 120_000;
/** A fault whose touched updates were all answered within this counts as healed. */
const HEAL_WITHIN_MS = 120_000;
const FIRST_USER_ID = 7_100_000_000;

interface Options {
  players: number;
  minutes: number;
  think?: number;
  faults: boolean;
  keep?: boolean;
}

function parseArgs(): Options | number {
  const program = new Command()
    .name('npm run chaos --')
    .description(
      'Simulated players on a stack of its own while its processes are killed; then every farm is checked.',
    )
    .option('--players <n>', 'simulated players', positiveNumber(1000), 100)
    .option('--minutes <n>', 'how long they play', positiveNumber(60), 3)
    .option(
      '--think <seconds>',
      'mean pause between a player’s updates (default: half the sustained rate)',
      (text) => {
        const n = Number(text);
        if (!(n >= 0 && n <= 600)) throw new InvalidArgumentError('seconds from 0 to 600');
        return n;
      },
    )
    .option(
      '--no-faults',
      'play without faults (to measure what the stack sustains, with --think 0)',
    )
    .option('--keep', 'keep the stack (databases, folder, Redis keys) to look at afterwards');
  return parseCommandLine(program) ?? program.opts<Options>();
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** What happened to the updates, for the findings' header and the README's figures. */
function summarize(records: UpdateRecord[], playMs: number) {
  const answered = records.filter((r) => r.answeredAt !== undefined);
  const attempts = records.flatMap((r) => r.attempts);
  const status = (code: (s: number) => boolean) =>
    attempts.filter((a) => a.status !== undefined && code(a.status)).length;
  return [
    `updates: ${records.length} (${(records.length / (playMs / 1000)).toFixed(1)}/s), answered ${answered.length}`,
    `deliveries: ${attempts.length}; 2xx ${status((s) => s < 300)}, 5xx ${status((s) => s >= 500)}, other statuses ${status((s) => s >= 300 && s < 500)}, no answer ${attempts.filter((a) => a.status === undefined).length}`,
    `latency to the final 2xx: p50 ${seconds(
      percentile(
        answered.map((r) => r.answeredAt! - r.sentAt),
        50,
      ),
    )}, p95 ${seconds(
      percentile(
        answered.map((r) => r.answeredAt! - r.sentAt),
        95,
      ),
    )}, max ${seconds(
      percentile(
        answered.map((r) => r.answeredAt! - r.sentAt),
        100,
      ),
    )}`,
  ];
}

/** Ctrl-C or SIGTERM mid-play: stop and drop the stack, then exit. */
let interrupted: (() => Promise<void>) | undefined;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    process.stderr.write(`farmflow chaos: ${signal}: stopping the stack…\n`);
    void (interrupted?.() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

async function play(
  options: Options,
  env: StackEnv,
  say: (line: string) => void,
): Promise<Finding[]> {
  const began = Date.now();
  const name = `chaos_${randomBytes(3).toString('hex')}`;
  const postgres = parsePostgresUrl(env.postgresUrl);
  const cliPath = await ensureTemporalCli({ configuredPath: env.cliPath, say });
  const binaries = await ensureTemporalServer({ say });
  const logger = createLogger('error');
  installTemporalRuntime(logger);
  const redis = await connectRedis(env.redisUrl, logger);
  await sweepAbandoned(env, postgres, binaries.server, redis, say);
  // Marks the stack as this process's, for a later play to sweep if this one is SIGKILLed.
  mkdirSync(stackDir(env.dataDir, name), { recursive: true });
  writeFileSync(join(stackDir(env.dataDir, name), 'chaos.pid'), String(process.pid));
  let stack: Stack | undefined;
  const cleanUp = async () => {
    await stack?.stop();
    if (!options.keep) {
      await deleteKeysWithPrefix(redis, `${name}:`);
      await dropStack({ name, postgres, dataDir: env.dataDir }).catch((err: unknown) =>
        say(`could not drop stack ${name}: ${(err as Error).message}`),
      );
    } else if (stack) {
      say(`Kept stack ${name}: npm run stack -- --name ${name} starts it again; --reset drops it.`);
    }
    await redis.close();
  };
  interrupted = cleanUp;
  try {
    say(`Starting stack ${name}…`);
    stack = await startStack({
      name,
      postgres,
      redisUrl: env.redisUrl,
      dataDir: env.dataDir,
      ports: { temporal: 0, http: 0, admin: 0 },
      gameTimeScale: 0.01,
      binaries,
      cliPath,
      logLevel: 'info',
      say,
    });
    say(
      `Metrics: the bot's ${stack.urls.admin}/metrics, the worker's ${stack.urls.workerMetrics}/metrics; to watch them: prometheus --config.file=${join(stack.dir, 'prometheus.yml')}`,
    );
    const api = stack.telegram!;
    const playMs = options.minutes * 60_000;
    const thinkMs = (options.think ?? options.players / (SUSTAINED_UPDATES_PER_SECOND / 2)) * 1000;
    say(
      `${options.players} players for ${options.minutes} min, think time ${seconds(thinkMs)} (at most ${(options.players / Math.max(thinkMs / 1000, 0.001)).toFixed(1)} updates/s; this stack sustains about ${SUSTAINED_UPDATES_PER_SECOND}/s here)`,
    );
    const startedAt = Date.now();
    let giveUpAt = startedAt + playMs + SETTLE_MS;
    const players = startPlay({
      api,
      players: options.players,
      firstUserId: FIRST_USER_ID,
      thinkMs,
      playUntil: startedAt + playMs,
      giveUpAt: () => giveUpAt,
      random: Math.random,
    });
    // A player that fails ends the play, after the faults (and then the cleanup) have run.
    const playersDone = players.done.then(
      () => undefined,
      (err: unknown) => err,
    );
    const faults = options.faults
      ? await runFaults(planFaults(playMs), startedAt, {
          stack,
          redis,
          players: options.players,
          say,
        })
      : [];
    // Whatever healing the last fault needed, the players get the settle time after it.
    giveUpAt = Math.max(giveUpAt, Date.now() + SETTLE_MS);
    const playError = await playersDone;
    if (playError) throw new Error('a simulated player failed', { cause: playError });
    const playedMs = Date.now() - startedAt;
    say('Play over; reading every farm…');
    // The batch's last pages and reward messages may still be on their way.
    const connection = await NativeConnection.connect({ address: stack.temporal.address });
    try {
      const client = new Client({
        connection,
        dataConverter: farmflowDataConverter(`${stack.dir}/shared`),
      });
      const userIds = Array.from({ length: options.players }, (_, i) => FIRST_USER_ID + i);
      if (options.faults) await waitForRewards(api, userIds, Date.now() + SETTLE_MS);
      const facts = await readFacts({
        client,
        api,
        secret: stack.userHashSecret,
        userIds,
        records: players.records,
        rewardMessage: BATCH_REWARD.message,
        batchId: BATCH_ID,
      });
      for (const line of summarize(players.records, playedMs)) say(line);
      const results = facts.players.flatMap((player) => Object.values(player.results));
      const applications = facts.players.flatMap((player) => player.applications);
      say(
        `actions: ${results.filter((r) => 'kind' in r && r.kind === 'actionDone').length} acknowledged, ${results.filter((r) => 'kind' in r && r.kind === 'actionRefused').length} refused by the farm; the farms applied ${applications.filter((a) => !a.repeated).length} and answered ${applications.filter((a) => a.repeated).length} retries from memory`,
      );
      say(
        `time: ${seconds(startedAt - began)} to build and start, ${seconds(playedMs)} of play and settling, ${seconds(Date.now() - startedAt - playedMs)} reading the farms`,
      );
      // An unanswered update is explained by what the bot logged about it.
      for (const line of logExcerpts(stack.logs.bot, players.records.filter(unanswered))) say(line);
      const findings = runChecks({
        records: players.records,
        facts,
        faults,
        batch: { id: BATCH_ID, coins: BATCH_REWARD.coins },
        healWithinMs: HEAL_WITHIN_MS,
      });
      return options.faults
        ? findings
        : findings.filter((f) => f.check !== CHECKS.batch && f.check !== CHECKS.paidOnce);
    } finally {
      await connection.close();
    }
  } finally {
    interrupted = undefined;
    await cleanUp();
  }
}

/**
 * Stacks of earlier plays whose process died without cleaning up (a SIGKILL): their server is
 * stopped and everything they created dropped, so that none holds PostgreSQL's connections.
 */
async function sweepAbandoned(
  env: StackEnv,
  postgres: PostgresTarget,
  serverPath: string,
  redis: RedisClient,
  say: (line: string) => void,
) {
  const stacks = join(env.dataDir, 'stacks');
  if (!existsSync(stacks)) return;
  for (const entry of readdirSync(stacks)) {
    if (!entry.startsWith('chaos_')) continue;
    const dir = stackDir(env.dataDir, entry);
    // No mark: a play from before the marks, or one that died as it began.
    if (livePidIn(join(dir, 'chaos.pid')) !== undefined) continue;
    say(`Dropping stack ${entry}, left by a play that did not finish…`);
    await stopLeftover(serverPidFile(join(dir, 'temporal')), serverPath, say);
    await deleteKeysWithPrefix(redis, `${entry}:`);
    await dropStack({ name: entry, postgres, dataDir: env.dataDir });
  }
}

/** The bot's log lines about each of the first few `records`, shortened: the findings' evidence. */
function logExcerpts(botLog: string, records: UpdateRecord[]): string[] {
  if (records.length === 0 || !existsSync(botLog)) return [];
  const lines = readFileSync(botLog, 'utf8').split('\n');
  return records.slice(0, 5).flatMap((record) => {
    const about = lines.filter((line) => line.includes(`"updateId":${record.updateId}`));
    return [
      `bot log about update ${record.updateId} (${about.length} lines):`,
      ...about.slice(0, 8).map((line) => `  ${line.slice(0, 400)}`),
    ];
  });
}

/** Every player's chat shows the batch's message, or the time is up. */
async function waitForRewards(
  api: NonNullable<Stack['telegram']>,
  userIds: number[],
  until: number,
) {
  while (Date.now() < until) {
    const missing = userIds.filter((id) => rewardsSent(api, id, BATCH_REWARD.message) === 0);
    if (missing.length === 0) return;
    await sleep(500);
  }
}

async function main(): Promise<number> {
  const options = parseArgs();
  if (typeof options === 'number') return options;
  const say = (line: string) => process.stdout.write(`${line}\n`);
  let env: StackEnv;
  try {
    env = parseStackEnv(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`farmflow chaos: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const findings = await play(options, env, say);
  const failed = findings.filter((f) => !f.passed);
  const byCheck = new Map<string, Finding[]>();
  for (const finding of findings)
    byCheck.set(finding.check, [...(byCheck.get(finding.check) ?? []), finding]);
  say('');
  for (const [check, group] of byCheck) {
    const bad = group.filter((f) => !f.passed);
    if (check === CHECKS.healed) {
      for (const f of group)
        say(`${f.passed ? 'ok  ' : 'FAIL'} healed: ${f.subject}: ${f.detail ?? ''}`);
      continue;
    }
    say(
      `${bad.length === 0 ? 'ok  ' : 'FAIL'} ${check}: ${group.length - bad.length} of ${group.length}`,
    );
    for (const f of bad.slice(0, 10)) say(`       ${f.subject}: ${f.detail ?? ''}`);
    if (bad.length > 10) say(`       … and ${bad.length - 10} more`);
  }
  say(`${findings.length - failed.length} passed, ${failed.length} failed`);
  return failed.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`farmflow chaos: ${(err as Error).stack ?? String(err)}\n`);
    process.stdout.write('0 passed, 1 failed\n');
    process.exit(1);
  },
);
