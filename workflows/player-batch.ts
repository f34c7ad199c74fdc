/**
 * PlayerBatchWorkflow: pays a reward to (or tells something to) a population of players, page by
 * page, exactly once per player. Its workflow id names what it pays for (batchWorkflowId), so a
 * batch is started once ever; each grant's id is `<batchId>:<userHash>`, which the farm dedupes,
 * so a page sent twice (a worker killed mid-page, a retried activity) pays nobody twice.
 *
 * One page at a time: read the next players from the registry (by join time, then hash: a cursor
 * that survives a Redis rebuild, since join times come from the farms), hand them to one activity
 * that signals their farms with bounded parallelism and confirms each by query, carry the counts.
 * Before any read, Redis's copy of the players must be whole (the rebuild marker): while it is
 * not, the batch starts or joins the Redis backfill and waits for it (progress `waiting`).
 *
 * The population is fixed at the start: players who joined before it. The batch ends by counting
 * it again and comparing with the players whose farm shows the grant; short of it (a player
 * registered late, behind the cursor; a farm that failed), it makes one checking pass over
 * everyone that asks each farm first and sends only what is missing, then reports done or
 * incomplete with the counts.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  log,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  BATCH_MEMO,
  type BatchMemo,
  batchWorkflowId,
  type BatchActivities,
  type BatchProgress,
  type PlayerBatchCarried,
  type PlayerBatchInput,
  type PlayerBatchResult,
  type PopulationCursor,
  progressQuery,
  type RegistryRead,
} from './contract';

export const DEFAULT_BATCH_PAGE_SIZE = 500;
export const DEFAULT_BATCH_PARALLELISM = 32;
export const DEFAULT_BATCH_PAGES_PER_RUN = 20;
/** Bounds that keep a page's activity and the history reasonable. */
export const MAX_BATCH_PAGE_SIZE = 1000;
export const MAX_BATCH_PARALLELISM = 64;
/** How long a batch waits for the Redis backfill before it gives up (incomplete). */
export const BACKFILL_WAIT_LIMIT_MS = 6 * 60 * 60 * 1000;
const WAIT_POLL_FIRST_MS = 1_000;
const WAIT_POLL_MAX_MS = 30_000;
/** Failure reasons a batch keeps for its progress and result. */
const FAILURE_SAMPLES = 5;

const { countPopulation, readPopulationPage, readLeaderboardTop } =
  proxyActivities<BatchActivities>({
    startToCloseTimeout: '30s',
    scheduleToCloseTimeout: '10m',
    retry: { initialInterval: '500ms', maximumInterval: '10s' },
  });

/** A page's activity reports after each player: a killed worker's page is retried within 10 s. */
const { deliverToPlayers } = proxyActivities<BatchActivities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '10s',
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

/** Ends the batch early, as incomplete, with a reason. */
class BatchStopped extends Error {}

export async function PlayerBatchWorkflow(input: PlayerBatchInput): Promise<PlayerBatchResult> {
  const problem = playerBatchInputProblem(input);
  if (problem) {
    throw ApplicationFailure.nonRetryable(`Not a batch: ${problem}`, 'InvalidPlayerBatchInput');
  }
  const { batchId, population, payload } = input;
  const pageSize = input.pageSize ?? DEFAULT_BATCH_PAGE_SIZE;
  const parallelism = input.parallelism ?? DEFAULT_BATCH_PARALLELISM;
  const pagesPerRun = input.pagesPerRun ?? DEFAULT_BATCH_PAGES_PER_RUN;
  const carried: PlayerBatchCarried = input.carried ?? {
    startedAtMs: Date.now(),
    cursor: null,
    top: null,
    topOffset: 0,
    total: 0,
    done: 0,
    paidCoins: 0,
    paidXp: 0,
    failures: 0,
    failureSamples: [],
    pass: 1,
  };
  const joinedBeforeMs =
    population.kind === 'joinedBefore'
      ? Math.min(population.beforeMs, carried.startedAtMs)
      : carried.startedAtMs;
  let phase: BatchProgress['state'] = 'running';

  const progress = (nowMs: number): BatchProgress => {
    const elapsedMs = Math.max(1, nowMs - carried.startedAtMs);
    const ratePerSecond = (carried.done * 1000) / elapsedMs;
    const left = Math.max(0, carried.total - carried.done - carried.failures);
    return {
      state: phase,
      done: carried.done,
      total: carried.total,
      failures: carried.failures,
      failureSamples: carried.failureSamples,
      ratePerSecond,
      etaMs:
        phase === 'done' || phase === 'incomplete'
          ? 0
          : ratePerSecond > 0
            ? Math.round((left / ratePerSecond) * 1000)
            : null,
      startedAtMs: carried.startedAtMs,
      updatedAtMs: nowMs,
    };
  };
  setHandler(progressQuery, () => progress(Date.now()));

  /** Reads Redis once its copy of the players is whole, waiting (bounded) for the backfill. */
  const whenWhole = async <T>(read: () => Promise<RegistryRead<T>>): Promise<T> => {
    const deadline = Date.now() + BACKFILL_WAIT_LIMIT_MS;
    let pollMs = WAIT_POLL_FIRST_MS;
    for (;;) {
      const answer = await read();
      if (answer.whole) {
        phase = 'running';
        return answer.value;
      }
      if (Date.now() >= deadline) {
        throw new BatchStopped(
          `Redis's copy of the players was not rebuilt within ${BACKFILL_WAIT_LIMIT_MS / 3_600_000} h (backfill ${answer.backfillWorkflowId})`,
        );
      }
      if (phase !== 'waiting') {
        log.warn("Redis's copy of the players may be partial: waiting for the backfill", {
          batchId,
          backfillWorkflowId: answer.backfillWorkflowId,
        });
      }
      phase = 'waiting';
      await sleep(pollMs);
      pollMs = Math.min(pollMs * 2, WAIT_POLL_MAX_MS);
    }
  };

  const countAll = async (): Promise<number> => {
    if (population.kind === 'top') {
      carried.top ??= await whenWhole(() => readLeaderboardTop(population.prizes.length));
      return carried.top.length;
    }
    return whenWhole(() => countPopulation({ population, joinedBeforeMs }));
  };

  /** The next page of this pass, with each player's prize for `top`; empty at the end. */
  const nextPage = async () => {
    if (population.kind === 'top') {
      const top = carried.top ?? [];
      return top.slice(carried.topOffset, carried.topOffset + pageSize).map((userHash, i) => ({
        userHash,
        prize: population.prizes[carried.topOffset + i],
        cursor: null,
      }));
    }
    const players = await whenWhole(() =>
      readPopulationPage({ population, joinedBeforeMs, after: carried.cursor, limit: pageSize }),
    );
    return players.map((player: PopulationCursor) => ({
      userHash: player.userHash,
      prize: undefined,
      cursor: player,
    }));
  };

  const finish = (outcome: PlayerBatchResult['outcome'], reason?: string): PlayerBatchResult => {
    phase = outcome;
    const result: PlayerBatchResult = {
      batchId,
      outcome,
      population: carried.total,
      done: carried.done,
      failures: carried.failures,
      failureSamples: carried.failureSamples,
      paidCoins: carried.paidCoins,
      paidXp: carried.paidXp,
      startedAtMs: carried.startedAtMs,
      finishedAtMs: Date.now(),
      ...(reason ? { reason } : {}),
    };
    log.info(`batch ${outcome}`, { ...result });
    return result;
  };

  try {
    if (input.carried === undefined) {
      carried.total = await countAll();
      log.info('batch started', { batchId, population: carried.total, kind: population.kind });
    }
    for (let pages = 0; ; pages += 1) {
      if (payload.kind === 'notice' && Date.now() >= payload.notAfterMs) {
        throw new BatchStopped(
          `the notice expired at ${new Date(payload.notAfterMs).toISOString()}: nobody is told about an event that is over`,
        );
      }
      if (pages >= pagesPerRun) {
        // Only between pages: the next run starts exactly where this one stopped.
        return await continueAsNew<typeof PlayerBatchWorkflow>({ ...input, carried });
      }
      const page = await nextPage();
      if (page.length === 0) {
        const population = await countAll();
        if (carried.done >= population && carried.failures === 0) {
          carried.total = population;
          return finish('done');
        }
        if (carried.pass === 2) {
          carried.total = population;
          return finish(
            'incomplete',
            `${carried.done} of ${population} players show it, ${carried.failures} failed`,
          );
        }
        log.warn('first pass fell short: checking every player once more', {
          batchId,
          population,
          done: carried.done,
          failures: carried.failures,
        });
        Object.assign(carried, {
          pass: 2,
          total: population,
          cursor: null,
          topOffset: 0,
          done: 0,
          paidCoins: 0,
          paidXp: 0,
          failures: 0,
          failureSamples: [],
        });
        continue;
      }
      const report = await deliverToPlayers({
        batchId,
        payload,
        issuedAtMs: carried.startedAtMs,
        players: page.map(({ userHash, prize }) => (prize ? { userHash, prize } : { userHash })),
        parallelism,
        checkFirst: carried.pass === 2,
      });
      carried.done += report.confirmed;
      carried.paidCoins += report.coins;
      carried.paidXp += report.xp;
      carried.failures += report.failures.length;
      for (const failure of report.failures) {
        if (carried.failureSamples.length >= FAILURE_SAMPLES) break;
        carried.failureSamples.push(`${failure.userHash}: ${failure.reason}`);
      }
      if (population.kind === 'top') carried.topOffset += page.length;
      else carried.cursor = page[page.length - 1]!.cursor;
    }
  } catch (err) {
    if (err instanceof BatchStopped) return finish('incomplete', err.message);
    if (err instanceof ActivityFailure) {
      // An activity that failed for good (its retries are bounded): the batch says so.
      return finish('incomplete', `a page failed: ${err.cause?.message ?? err.message}`);
    }
    throw err;
  }
}

/**
 * Starts `batch` as a child of the calling workflow that outlives it (ABANDON), once ever: its
 * workflow id comes from the batch id, and Temporal refuses a second start of an id that has been
 * used (REJECT_DUPLICATE), which answers `already started` (a schedule fired twice, a retry).
 */
export async function startBatchOnce(
  batch: PlayerBatchInput,
): Promise<'started' | 'already started'> {
  const memo: BatchMemo = {
    batchId: batch.batchId,
    population: batch.population,
    payload: batch.payload,
  };
  try {
    await startChild(PlayerBatchWorkflow, {
      workflowId: batchWorkflowId(batch.batchId),
      args: [batch],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      memo: { [BATCH_MEMO]: memo },
    });
    return 'started';
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return 'already started';
  }
}

const isWhole = (n: unknown, min: number, max = Number.MAX_SAFE_INTEGER) =>
  typeof n === 'number' && Number.isSafeInteger(n) && n >= min && n <= max;

/** Why an input cannot be run as a batch; null when it can. */
export function playerBatchInputProblem(input: unknown): string | null {
  const raw = (input ?? {}) as Partial<Record<keyof PlayerBatchInput, unknown>>;
  if (typeof raw.batchId !== 'string' || !BATCH_ID.test(raw.batchId))
    return 'batchId must be 1-100 characters of letters, digits, - _ . :';
  const population = raw.population as PlayerBatchInput['population'] | undefined;
  if (population?.kind === 'joinedBefore') {
    if (!isWhole(population.beforeMs, 0)) return 'population.beforeMs must be a time in ms';
  } else if (population?.kind === 'top') {
    if (!Array.isArray(population.prizes) || population.prizes.length === 0)
      return 'population.prizes must list at least one prize';
    if (population.prizes.length > MAX_BATCH_PAGE_SIZE)
      return `population.prizes must list at most ${MAX_BATCH_PAGE_SIZE} prizes`;
    for (const prize of population.prizes) {
      if (!isWhole(prize?.coins, 0) || !isWhole(prize?.xp, 0))
        return 'each prize needs whole coins and xp of at least 0';
    }
  } else if (population?.kind !== 'all') {
    return "population.kind must be 'all', 'joinedBefore' or 'top'";
  }
  const payload = raw.payload as PlayerBatchInput['payload'] | undefined;
  if (payload?.kind === 'grant') {
    if (!isWhole(payload.coins, 0) || !isWhole(payload.xp, 0))
      return 'payload coins and xp must be whole numbers of at least 0';
    if (population.kind !== 'top' && payload.coins + payload.xp === 0)
      return 'a grant pays some coins or XP';
    if (typeof payload.reason !== 'string' || payload.reason.trim() === '')
      return 'payload.reason must say why';
    if (payload.message !== undefined && typeof payload.message !== 'string')
      return 'payload.message must be text';
  } else if (payload?.kind === 'notice') {
    if (payload.content?.topic !== 'announcement') return "a notice's content is an announcement";
    if (!isWhole(payload.notAfterMs, 0)) return 'payload.notAfterMs must be a time in ms';
  } else {
    return "payload.kind must be 'grant' or 'notice'";
  }
  if (raw.pageSize !== undefined && !isWhole(raw.pageSize, 1, MAX_BATCH_PAGE_SIZE))
    return `pageSize must be 1-${MAX_BATCH_PAGE_SIZE}`;
  if (raw.parallelism !== undefined && !isWhole(raw.parallelism, 1, MAX_BATCH_PARALLELISM))
    return `parallelism must be 1-${MAX_BATCH_PARALLELISM}`;
  if (raw.pagesPerRun !== undefined && !isWhole(raw.pagesPerRun, 1, 1000))
    return 'pagesPerRun must be 1-1000';
  return null;
}

/** What a batch id may hold: it becomes part of workflow ids and grant ids. */
export const BATCH_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;
