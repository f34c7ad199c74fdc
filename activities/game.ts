/**
 * The activities of the game task queue, for every process that runs a game worker (worker, `npm
 * start`, tests): the farms' and those of the scheduled workflows (world state).
 */
import { createFarmActivities, type FarmActivityDeps } from './farm';
import { createWorldActivities, type WorldActivityDeps } from './world';

export type GameActivityDeps = FarmActivityDeps & WorldActivityDeps;

export function createGameActivities(deps: GameActivityDeps) {
  return { ...createFarmActivities(deps), ...createWorldActivities(deps) };
}
