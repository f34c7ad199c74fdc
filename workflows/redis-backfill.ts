/**
 * RedisBackfillWorkflow: rebuilds Redis's copy of the players (registry, leaderboard, preferences
 * and reachability) from the farms, which are the source of truth. One per Redis key prefix
 * (`redisBackfillWorkflowId`), started by the schedules CLI, by a worker that finds the copy
 * unmarked, or by a batch that needs the registry whole.
 *
 * A round: the rebuild marker's `begin`, a main pass over every running farm (visibility, one page
 * per activity, each farm of the page queried with bounded parallelism and its copy written as
 * the farm's own publish writes it), a catch-up pass over the runs started since the main pass
 * began (a farm that continued as new during it got a new start time and may have moved behind
 * the listing's cursor), then the marker's `finish`. If Redis lost keys during the round, `finish`
 * says so and another round starts. Every write is idempotent, so a page done twice (a retried
 * activity, a worker killed) does no harm. Continue-as-new keeps the history small.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  type BackfillPageResult,
  type BatchProgress,
  progressQuery,
  type RedisBackfillActivities,
  type RedisBackfillCarried,
  type RedisBackfillInput,
} from './contract';

export const DEFAULT_BACKFILL_PAGE_SIZE = 100;
export const DEFAULT_BACKFILL_CONCURRENCY = 8;
const DEFAULT_MAX_HISTORY_EVENTS = 1000;
/** Redis losing keys again and again during a rebuild: give up after this many rounds. */
export const MAX_ROUNDS = 5;
/**
 * The catch-up pass lists runs from this long before the main pass began: visibility's start
 * times are the server's clock, the workflow's clock is a worker's view of it.
 */
const CLOCK_SLACK_MS = 60_000;
const FAILURE_SAMPLES = 5;

const { countRunningFarms, beginRedisRebuild, finishRedisRebuild } =
  proxyActivities<RedisBackfillActivities>({
    startToCloseTimeout: '30s',
    retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 20 },
  });
const { backfillFarmsPage } = proxyActivities<RedisBackfillActivities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 20 },
});

export async function RedisBackfillWorkflow(input: RedisBackfillInput): Promise<BatchProgress> {
  const pageSize = input.pageSize ?? DEFAULT_BACKFILL_PAGE_SIZE;
  const concurrency = input.concurrency ?? DEFAULT_BACKFILL_CONCURRENCY;
  const maxHistoryEvents = input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS;
  // Answered from the first activation on, also while the first activities run.
  let progress: BatchProgress = input.carried?.progress ?? {
    state: 'running',
    done: 0,
    total: 0,
    failures: 0,
    failureSamples: [],
    ratePerSecond: 0,
    etaMs: null,
    startedAtMs: Date.now(),
    updatedAtMs: Date.now(),
  };
  setHandler(progressQuery, () => progress);

  const newRound = async (round: number): Promise<RedisBackfillCarried> => {
    // The token first: a loss from here on deletes it, and `finish` sees that.
    const token = await beginRedisRebuild();
    const total = await countRunningFarms(input.gameTaskQueue);
    const now = Date.now();
    progress = { ...progress, state: 'running', done: 0, total, failures: 0, failureSamples: [] };
    progress.updatedAtMs = now;
    log.info('backfill round started', { round, total });
    return {
      token,
      round,
      pass: 'main',
      mainPassStartedAtMs: now,
      pageToken: null,
      progress,
    };
  };

  const count = (page: BackfillPageResult, pass: RedisBackfillCarried['pass']) => {
    const now = Date.now();
    const done = progress.done + (pass === 'main' ? page.written + page.gone : 0);
    const seconds = (now - progress.startedAtMs) / 1000;
    const ratePerSecond = seconds > 0 ? done / seconds : 0;
    const total = Math.max(progress.total, done);
    progress = {
      ...progress,
      done,
      total,
      failures: progress.failures + page.failed,
      failureSamples: [...progress.failureSamples, ...page.failureSamples].slice(
        0,
        FAILURE_SAMPLES,
      ),
      ratePerSecond,
      etaMs: ratePerSecond > 0 ? Math.round(((total - done) / ratePerSecond) * 1000) : null,
      updatedAtMs: now,
    };
  };

  let state = input.carried ?? (await newRound(1));
  for (;;) {
    const page = await backfillFarmsPage({
      gameTaskQueue: input.gameTaskQueue,
      sinceMs: state.pass === 'catchUp' ? state.mainPassStartedAtMs - CLOCK_SLACK_MS : null,
      pageToken: state.pageToken,
      pageSize,
      concurrency,
    });
    count(page, state.pass);
    state = { ...state, pageToken: page.nextPageToken };

    if (state.pageToken === null) {
      if (state.pass === 'main') {
        log.info('backfill main pass done; copying the runs started since it began', {
          farms: progress.done,
        });
        state = { ...state, pass: 'catchUp' };
      } else if (progress.failures > 0) {
        // Some farms' copies are missing: the marker stays unset, so batches keep waiting.
        progress = { ...progress, state: 'incomplete', etaMs: null, updatedAtMs: Date.now() };
        log.warn('backfill incomplete: some farms could not be read', {
          failures: progress.failures,
          samples: progress.failureSamples,
        });
        return progress;
      } else if (await finishRedisRebuild(state.token)) {
        progress = { ...progress, state: 'done', etaMs: 0, updatedAtMs: Date.now() };
        log.info('backfill done: Redis holds every farm’s copy', { farms: progress.done });
        return progress;
      } else if (state.round >= MAX_ROUNDS) {
        progress = { ...progress, state: 'incomplete', etaMs: null, updatedAtMs: Date.now() };
        log.error('Redis kept losing keys during the backfill; giving up', { rounds: state.round });
        return progress;
      } else {
        log.warn('Redis lost keys during the backfill; starting again', { round: state.round });
        state = await newRound(state.round + 1);
      }
    }

    state.progress = progress;
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= maxHistoryEvents) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof RedisBackfillWorkflow>({ ...input, carried: state });
    }
  }
}
