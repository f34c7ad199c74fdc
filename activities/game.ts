/**
 * The activities of the game task queue, for every process that runs a game worker (worker, `npm
 * start`, tests): the farms', those of the scheduled workflows (world state), and the reward
 * batches' (which signal and query the farms through the Temporal client).
 */
import { createBatchActivities, type BatchActivityDeps } from './batch';
import { createFarmActivities, type FarmActivityDeps } from './farm';
import { createWorldActivities, type WorldActivityDeps } from './world';

export type GameActivityDeps = FarmActivityDeps & WorldActivityDeps & BatchActivityDeps;

export function createGameActivities(deps: GameActivityDeps) {
  return {
    ...createFarmActivities(deps),
    ...createWorldActivities(deps),
    ...createBatchActivities(deps),
  };
}
