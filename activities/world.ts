/**
 * World state for the scheduled workflows (game task queue): the market tick reads and publishes
 * the market, calendar events add and remove themselves. Also how world state is rebuilt from
 * Temporal when Redis lost it (`worldFromTemporal`), for these activities and the per-message
 * reads alike.
 */
import { log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { MarketState } from '../game';
import type { Logger } from '../infra/logging';
import type { RedisClient } from '../store/redis';
import {
  createWorldStore,
  InvalidWorldWriteError,
  parseActiveEvent,
  parseMarket,
  type RestoredWorld,
  type WorldStoreOptions,
} from '../store/world';
import {
  ACTIVE_EVENT_MEMO,
  type RemoveWorldEventInput,
  type WorldActivities,
  type WorldEventEntry,
  WORKFLOW_TYPES,
} from '../workflows/contract';

/** The market rebuild reads this many of the newest completed ticks and keeps the highest. */
export const RECENT_TICKS_READ = 5;
/** More events than this running at once is not a calendar: the rebuild reads no further. */
export const RUNNING_EVENTS_READ = 100;

/**
 * World state as Temporal knows it, for the game on `gameTaskQueue` (the schedules start their
 * workflows there; test files each have their own):
 * - the market: the result of the newest completed MarketTickWorkflow (of the few newest, the
 *   highest tick: visibility's order is by close time, and SQLite visibility has no ORDER BY);
 * - the running events: each running CalendarEventWorkflow's memo, which it sets before it adds
 *   its event to world state (so every event Redis ever held is there), with its run id.
 * Reads visibility and the ticks' last history events only: it works while every worker is down.
 */
export function worldFromTemporal(
  client: Client,
  gameTaskQueue: string,
): () => Promise<RestoredWorld> {
  const ofType = (type: string, status: string) =>
    `WorkflowType = '${type}' AND TaskQueue = '${gameTaskQueue}' AND ExecutionStatus = '${status}'`;

  const lastMarket = async (): Promise<MarketState | null> => {
    const ticks: { workflowId: string; runId: string }[] = [];
    const query = ofType(WORKFLOW_TYPES.marketTick, 'Completed');
    for await (const tick of client.workflow.list({ query, pageSize: RECENT_TICKS_READ })) {
      ticks.push(tick);
      if (ticks.length >= RECENT_TICKS_READ) break;
    }
    const results = await Promise.all(
      ticks.map(async ({ workflowId, runId }) =>
        parseMarket(await client.workflow.getHandle(workflowId, runId).result()),
      ),
    );
    return results.reduce<MarketState | null>(
      (best, market) => (market && (!best || market.tick > best.tick) ? market : best),
      null,
    );
  };

  const runningEvents = async (): Promise<WorldEventEntry[]> => {
    const events: WorldEventEntry[] = [];
    const query = ofType(WORKFLOW_TYPES.calendarEvent, 'Running');
    for await (const run of client.workflow.list({ query, pageSize: RUNNING_EVENTS_READ })) {
      const event = parseActiveEvent(run.memo?.[ACTIVE_EVENT_MEMO]);
      if (event) events.push({ event, runId: run.runId });
      if (events.length >= RUNNING_EVENTS_READ) break;
    }
    return events;
  };

  return async () => {
    const [market, events] = await Promise.all([lastMarket(), runningEvents()]);
    return { market, events };
  };
}

export interface WorldActivityDeps {
  redis: RedisClient;
  keyPrefix: string;
  /** Reads Temporal when world state must be rebuilt. */
  client: Client;
  /** The task queue the scheduled workflows run on (TASK_QUEUES.game). */
  gameTaskQueue: string;
  logger?: Logger;
  /** Tests shorten the read's wait for a rebuild. */
  storeOptions?: Pick<WorldStoreOptions, 'restoreWaitMs' | 'restoreLockMs'>;
}

/** The world store every reader should use: rebuilt from Temporal when Redis lost it. */
export function createRestoringWorldStore(deps: WorldActivityDeps) {
  return createWorldStore(deps.redis, deps.keyPrefix, {
    ...deps.storeOptions,
    restore: worldFromTemporal(deps.client, deps.gameTaskQueue),
    logger: deps.logger,
  });
}

export function createWorldActivities(deps: WorldActivityDeps): WorldActivities {
  const world = createRestoringWorldStore(deps);
  return {
    async readMarket(): Promise<MarketState | null> {
      return (await world.read({ waitForRestore: true })).market ?? null;
    },

    async publishMarket(market: MarketState): Promise<boolean> {
      const published = await refuseInvalid(() => world.publishMarket(market));
      if (published) log.info('market published', { tick: market.tick });
      else log.info('market tick already published, or a newer one', { tick: market.tick });
      return published;
    },

    async addWorldEvent(entry: WorldEventEntry): Promise<void> {
      const added = await refuseInvalid(() => world.addEvent(entry));
      if (added) log.info('event added to world state', { eventId: entry.event.id });
      else log.warn('a later run of this event holds world state', { eventId: entry.event.id });
    },

    async removeWorldEvent(input: RemoveWorldEventInput): Promise<boolean> {
      const removed = await world.removeEvent(input.eventId, input.runId);
      log.info(removed ? 'event removed from world state' : 'event was no longer this run’s', {
        eventId: input.eventId,
      });
      return removed;
    },
  };
}

/** A write world state refuses is a bug in its caller: no retry can fix it. */
async function refuseInvalid<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof InvalidWorldWriteError)
      throw ApplicationFailure.nonRetryable(err.message, err.name);
    throw err;
  }
}
