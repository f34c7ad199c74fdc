/**
 * The activities of the game task queue, for every process that runs a game worker (worker, `npm
 * start`, tests): the farms', those of the scheduled workflows (world state), and the Redis
 * backfill's.
 */
import { createFarmActivities, type FarmActivityDeps } from './farm';
import { createRedisBackfillActivities } from './redis-backfill';
import { createWorldActivities, type WorldActivityDeps } from './world';

export type GameActivityDeps = FarmActivityDeps & WorldActivityDeps;

export function createGameActivities(deps: GameActivityDeps) {
  return {
    ...createFarmActivities(deps),
    ...createWorldActivities(deps),
    ...createRedisBackfillActivities(deps),
  };
}
