/**
 * The screens the per-message workflows answer with, built from what their local activity read or
 * did. Deterministic and free of I/O: the workflows return them, and the local activity builds the
 * same screen to hand it early to the caller waiting in its process. Imports types only, so it is
 * safe in workflow code.
 */
import type { ApplyFarmActionResult, FarmRead, MainMenuScreen } from './contract';

/** MainMenuQueryWorkflow's screen: the farm as `readFarm` found it. */
export const farmScreen = (read: FarmRead): MainMenuScreen => ({
  kind: 'farm',
  snapshot: read.snapshot,
  world: read.world,
});

/** MainMenuMessageWorkflow's screen: what `applyFarmAction` did, or why it was refused. */
export const actionScreen = (outcome: ApplyFarmActionResult): MainMenuScreen =>
  outcome.ok
    ? {
        kind: 'actionDone',
        event: outcome.result.event,
        snapshot: outcome.result.snapshot,
        world: outcome.world,
      }
    : {
        kind: 'actionRefused',
        reason: outcome.reason,
        snapshot: outcome.snapshot,
        world: outcome.world,
      };
