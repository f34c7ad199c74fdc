/**
 * What the chaos play does to its stack while the players play: the worker killed with SIGKILL
 * every 30 s and started again, the bot killed once, the Temporal server restarted once, every key
 * of the stack's Redis prefix deleted once (the worker's watch starts the backfill that rebuilds
 * the players' copy), and a reward batch started through the admin API. Each fault records when
 * it struck and when its component was back; ./checks.ts turns that into heal times.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createPlayerRegistry } from '../../store/players';
import { type RedisClient, deleteKeysWithPrefix } from '../../store/redis';
import { createRebuildMarker } from '../../store/rebuild-marker';
import type { Stack } from '../stack/stack';

export const WORKER_KILL_EVERY_MS = 30_000;
/** How long a component may take to be back before the play calls the fault unhealed. */
const BACK_TIMEOUT_MS = 120_000;

export type FaultKind = 'worker' | 'bot' | 'temporal' | 'redis' | 'batch';

export interface FaultRecord {
  kind: FaultKind;
  name: string;
  at: number;
  /** When its component was back (process ready, server serving, Redis's copy whole again). */
  backAt?: number;
  error?: string;
}

export interface FaultPlan {
  kind: FaultKind;
  /** Ms after the play's start. */
  afterMs: number;
}

/**
 * The worker every 30 s; the other faults once, spread over the play so that their heals overlap
 * the worker's kills but not each other.
 */
export function planFaults(playMs: number): FaultPlan[] {
  const plan: FaultPlan[] = [
    { kind: 'redis', afterMs: playMs * 0.2 },
    { kind: 'bot', afterMs: playMs * 0.35 },
    { kind: 'batch', afterMs: playMs * 0.45 },
    { kind: 'temporal', afterMs: playMs * 0.6 },
  ];
  for (let at = WORKER_KILL_EVERY_MS; at < playMs; at += WORKER_KILL_EVERY_MS) {
    plan.push({ kind: 'worker', afterMs: at });
  }
  return plan.sort((a, b) => a.afterMs - b.afterMs);
}

export const BATCH_ID = 'chaos-reward';
export const BATCH_REWARD = {
  coins: 100,
  xp: 5,
  reason: 'chaos reward',
  message: '🎁 A reward for playing through the storm: 100 coins.',
};

export interface FaultDeps {
  stack: Stack;
  redis: RedisClient;
  players: number;
  say: (line: string) => void;
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(250);
  }
  throw new Error(`${what} not within ${timeoutMs / 1000} s`);
}

/** Starts the reward batch through the bot's admin API, as an operator would, until it is taken. */
async function startBatch({ stack }: FaultDeps): Promise<void> {
  const body = JSON.stringify({
    batchId: BATCH_ID,
    ...BATCH_REWARD,
    population: { kind: 'all' },
    // Small pages: the batch is still paying while the later faults strike.
    pageSize: 10,
    parallelism: 4,
  });
  await until(
    async () => {
      const response = await fetch(`${stack.urls.admin}/admin/batches`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${stack.adminToken}`,
          'content-type': 'application/json',
        },
        body,
        signal: AbortSignal.timeout(15_000),
      });
      // 409: an earlier attempt started it and its answer was lost.
      return response.ok || response.status === 409;
    },
    BACK_TIMEOUT_MS,
    'the admin API taking the batch',
  );
}

async function deleteRedisPrefix({ stack, redis, players }: FaultDeps): Promise<void> {
  await deleteKeysWithPrefix(redis, stack.redisKeyPrefix);
  // The worker's watch sees the mark gone at its next start (30 s at most here) and backfills.
  const marker = createRebuildMarker(redis, stack.redisKeyPrefix);
  const registry = createPlayerRegistry(redis, stack.redisKeyPrefix);
  await until(
    async () => (await marker.completedAt()) !== null && (await registry.count()) >= players,
    BACK_TIMEOUT_MS * 2,
    "Redis's copy of the players whole again",
  );
}

export async function inject(kind: FaultKind, deps: FaultDeps): Promise<void> {
  const { stack } = deps;
  switch (kind) {
    case 'worker':
      await stack.worker.kill();
      await stack.worker.start();
      return;
    case 'bot':
      await stack.bot.kill();
      await stack.bot.start();
      return;
    case 'temporal':
      await stack.temporal.restart();
      return;
    case 'redis':
      return deleteRedisPrefix(deps);
    case 'batch':
      return startBatch(deps);
  }
}

const NAMES: Record<FaultKind, string> = {
  worker: 'worker killed (SIGKILL) and started again',
  bot: 'bot killed (SIGKILL) and started again',
  temporal: 'Temporal server restarted',
  redis: "every key of the stack's Redis prefix deleted",
  batch: 'reward batch started (admin API)',
};

/**
 * Runs the plan against the clock. Faults run one after another: one that is still healing delays
 * the next, and the Redis rebuild runs beside the rest (it waits for a worker start).
 */
export async function runFaults(
  plan: FaultPlan[],
  startedAt: number,
  deps: FaultDeps,
): Promise<FaultRecord[]> {
  const records: FaultRecord[] = [];
  const beside: Promise<void>[] = [];
  let workers = 0;
  for (const step of plan) {
    const wait = startedAt + step.afterMs - Date.now();
    if (wait > 0) await sleep(wait);
    const record: FaultRecord = {
      kind: step.kind,
      name: step.kind === 'worker' ? `${NAMES.worker} #${++workers}` : NAMES[step.kind],
      at: Date.now(),
    };
    records.push(record);
    deps.say(`  ${new Date(record.at).toISOString().slice(11, 19)}  ${record.name}`);
    const injected = inject(step.kind, deps).then(
      () => {
        record.backAt = Date.now();
      },
      (err: unknown) => {
        record.error = (err as Error).message;
        deps.say(`    failed: ${record.error}`);
      },
    );
    if (step.kind === 'redis' || step.kind === 'batch') beside.push(injected);
    else await injected;
  }
  await Promise.all(beside);
  return records;
}
