/**
 * The activities of reward batches (game task queue): the Redis reads a batch pages through, and
 * the delivery of a page to the farms (the page's signals, then the queries that confirm them).
 *
 * Every Redis read first asks the rebuild marker whether Redis's copy of the players is whole.
 * When it is not (Redis was lost and no backfill has finished since), the read starts the Redis
 * backfill, or joins the one running, and answers `whole: false`: the batch waits and asks again.
 */
import { Context, log } from '@temporalio/activity';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import pLimit from 'p-limit';
import { createPlayerRegistry } from '../store/players';
import type { RedisClient } from '../store/redis';
import { metrics } from '../infra/metrics';
import { createLeaderboard } from '../store/leaderboard';
import { createRebuildMarker } from '../store/rebuild-marker';
import {
  type BatchActivities,
  type DeliverInput,
  type DeliveryReport,
  farmWorkflowId,
  getFarmLogQuery,
  grantRewardSignal,
  hasGrantQuery,
  noticeSignal,
  redisBackfillWorkflowId,
  type RegistryRead,
  WORKFLOW_TYPES,
} from '../workflows/contract';

export interface BatchActivityDeps {
  redis: RedisClient;
  keyPrefix: string;
  /** Signals and queries the farms, and starts the backfill. */
  client: Client;
  /** Where the farms and the backfill run (TASK_QUEUES.game). */
  gameTaskQueue: string;
}

/** How often a page's delivery asks a farm whether it shows what was sent, and how long between. */
const CONFIRM_ATTEMPTS = 5;
const CONFIRM_FIRST_DELAY_MS = 100;

/** The grant id of a batch's player: the farm applies each id once. */
export const batchGrantId = (batchId: string, userHash: string) => `${batchId}:${userHash}`;

/**
 * The leaderboard's first `count` players' support codes, best first. Reads the sorted set the
 * leaderboard keeps (score XP; member `<15 digits: MAX - xpReachedAtMs>|<userHash>`, so equal XP
 * goes to whoever reached it first).
 */
export function createBatchActivities(deps: BatchActivityDeps): BatchActivities {
  const { redis, keyPrefix, client, gameTaskQueue } = deps;
  const players = createPlayerRegistry(redis, keyPrefix);
  const marker = createRebuildMarker(redis, keyPrefix);
  const leaderboard = createLeaderboard(redis, keyPrefix);

  /** Reads Redis if its copy is whole; otherwise starts (or joins) the backfill. */
  const ifWhole = async <T>(read: () => Promise<T>): Promise<RegistryRead<T>> => {
    if (await marker.completedAt()) return { whole: true, value: await read() };
    metrics.batchWaits.inc();
    const backfillWorkflowId = redisBackfillWorkflowId(keyPrefix);
    await client.workflow.start(WORKFLOW_TYPES.redisBackfill, {
      workflowId: backfillWorkflowId,
      taskQueue: gameTaskQueue,
      args: [{ gameTaskQueue }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    log.warn("Redis's copy of the players may be partial: the backfill runs", {
      backfillWorkflowId,
    });
    return { whole: false, backfillWorkflowId };
  };

  /** Whether the farm shows it, asked a few times (a signal may not be applied yet). */
  const confirm = async (shows: () => Promise<boolean>): Promise<boolean> => {
    for (let attempt = 1, delayMs = CONFIRM_FIRST_DELAY_MS; ; attempt += 1, delayMs *= 2) {
      if (await shows()) return true;
      if (attempt >= CONFIRM_ATTEMPTS) return false;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  };

  return {
    async countPopulation({ joinedBeforeMs }) {
      return ifWhole(() => players.countJoinedBefore(joinedBeforeMs));
    },

    async readPopulationPage({ joinedBeforeMs, after, limit }) {
      return ifWhole(() => players.page({ after, beforeMs: joinedBeforeMs, limit }));
    },

    async readLeaderboardTop(count) {
      return ifWhole(() => leaderboard.topUserHashes(count));
    },

    /**
     * Sends each player's grant (or notice) to their farm, then asks each farm whether it shows
     * it: two rounds, each at most `parallelism` at once. A signal returns once the server has
     * it, so the first round hands the worker the whole page at once (as raw signals would) and
     * the second mostly finds it applied; confirming each signal before the next one waited for
     * every farm's workflow task in turn. Retrying a page is safe: the farm dedupes by id.
     */
    async deliverToPlayers(input: DeliverInput): Promise<DeliveryReport> {
      const { batchId, payload } = input;
      const report: DeliveryReport = { confirmed: 0, coins: 0, xp: 0, failures: [] };
      const context = Context.current();
      const deliveries = input.players.map(({ userHash, prize }) => {
        const farm = client.workflow.getHandle(farmWorkflowId(userHash));
        const id = batchGrantId(batchId, userHash);
        if (payload.kind === 'grant') {
          const amounts = prize ?? { coins: payload.coins, xp: payload.xp };
          return {
            userHash,
            id,
            amounts,
            shows: () => farm.query(hasGrantQuery, id),
            send: () =>
              farm.signal(grantRewardSignal, {
                grantId: id,
                issuedAtMs: input.issuedAtMs,
                ...amounts,
                reason: payload.reason,
                batchId,
                ...(payload.message ? { message: payload.message } : {}),
              }),
          };
        }
        return {
          userHash,
          id,
          amounts: { coins: 0, xp: 0 },
          shows: async () =>
            (await farm.query(getFarmLogQuery)).some(
              (entry) => entry.kind === 'notification' && entry.notificationId === id,
            ),
          send: () =>
            farm.signal(noticeSignal, {
              notificationId: id,
              content: payload.content,
              notAfterMs: payload.notAfterMs,
              batchId,
            }),
        };
      });
      type Delivery = (typeof deliveries)[number];

      /** Runs `step` for each delivery, `parallelism` at once; a farm that is gone is a failure. */
      const eachOf = async (of: Delivery[], step: (delivery: Delivery) => Promise<void>) => {
        const limit = pLimit(input.parallelism);
        const reached: Delivery[] = [];
        await Promise.all(
          of.map((delivery) =>
            limit(async () => {
              try {
                await step(delivery);
                reached.push(delivery);
              } catch (err) {
                if (!(err instanceof WorkflowNotFoundError)) throw err;
                report.failures.push({ userHash: delivery.userHash, reason: 'no running farm' });
              } finally {
                context.heartbeat();
              }
            }),
          ),
        );
        return reached;
      };

      const sent = await eachOf(deliveries, async ({ shows, send }) => {
        if (!(input.checkFirst && (await shows()))) await send();
      });
      await eachOf(sent, async ({ userHash, id, amounts, shows }) => {
        if (await confirm(shows)) {
          report.confirmed += 1;
          report.coins += amounts.coins;
          report.xp += amounts.xp;
        } else {
          report.failures.push({
            userHash,
            reason: `the farm does not show ${id} after ${CONFIRM_ATTEMPTS} checks`,
          });
        }
      });
      metrics.batchPlayers.inc({ result: 'confirmed' }, report.confirmed);
      metrics.batchPlayers.inc({ result: 'failed' }, report.failures.length);
      if (report.confirmed > 0) metrics.batchLastProgress.setToCurrentTime();
      return report;
    },
  };
}
