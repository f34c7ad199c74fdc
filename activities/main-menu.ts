/**
 * Local activities of the per-message workflows: they run in the process that started the
 * workflow (eagerly, on the same connection), read world state from Redis, and reach the player's
 * farm through an update or a query.
 */
import {
  type Client,
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { EarlyAnswers } from './early-answers';
import {
  ACTION_UPDATES,
  type ApplyFarmActionInput,
  type ApplyFarmActionResult,
  type FarmRead,
  type GameFarmWorkflowSignature,
  type MainMenuActivities,
  type PlayerRef,
  type MainMenuScreen,
  type FarmActionInput,
  type FarmSnapshot,
  farmWorkflowId,
  getFarmQuery,
  openFarmUpdate,
  USER_HASH_SEARCH_ATTRIBUTE,
  WORKFLOW_TYPES,
} from '../workflows/contract';
import { actionScreen, farmScreen } from '../workflows/screens';
import { validateAction } from '../game';
import { inSpan } from '../infra/tracing';
import type { Logger } from '../infra/logging';
import type { RedisClient } from '../store/redis';
import { createRestoringWorldStore } from './world';

export interface MainMenuActivityDeps {
  client: Client;
  redis: RedisClient;
  keyPrefix: string;
  /** Fixed into a farm when it is created. */
  timeScale: number;
  gameTaskQueue: string;
  /** Passed to new farms; tests force continue-as-new with a low value. */
  farmMaxHistoryEvents?: number;
  /** Passed to new farms: where they queue their notifications (tests use their own). */
  notificationsTaskQueue?: string;
  /** Hands each screen to a caller waiting in this process as soon as it is known. */
  earlyAnswers?: EarlyAnswers;
  /** Where a failed rebuild of a lost world state is reported. */
  logger?: Logger;
}

export function createMainMenuActivities(deps: MainMenuActivityDeps): MainMenuActivities {
  // A message's read rebuilds a lost world once, bounded (see store/world.ts).
  const world = createRestoringWorldStore(deps);

  /** First contact creates the farm; USE_EXISTING makes a second farm for one player impossible. */
  const startFarm = ({ userHash, sealedChatId, displayName }: PlayerRef) =>
    new WithStartWorkflowOperation<GameFarmWorkflowSignature>(WORKFLOW_TYPES.gameFarm, {
      workflowId: farmWorkflowId(userHash),
      taskQueue: deps.gameTaskQueue,
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [
        {
          userHash,
          sealedChatId,
          timeScale: deps.timeScale,
          maxHistoryEvents: deps.farmMaxHistoryEvents,
          ...(displayName !== undefined ? { displayName } : {}),
          ...(deps.notificationsTaskQueue
            ? { notificationsTaskQueue: deps.notificationsTaskQueue }
            : {}),
        },
      ],
      typedSearchAttributes: [{ key: USER_HASH_SEARCH_ATTRIBUTE, value: userHash }],
    });

  const readSnapshot = async (player: PlayerRef): Promise<FarmSnapshot> => {
    try {
      return await inSpan('GameFarm query getFarm', {}, () =>
        deps.client.workflow.getHandle(farmWorkflowId(player.userHash)).query(getFarmQuery),
      );
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      return deps.client.workflow.executeUpdateWithStart(openFarmUpdate, {
        startWorkflowOperation: startFarm(player),
      });
    }
  };

  /**
   * The workflow's result is this screen, computed the same way; handing it to a caller in this
   * process now saves the wait for the workflow task that completes the workflow. A retry of this
   * activity reaches the same farm answer (the farm remembers the action id).
   */
  const answerEarly = (screen: MainMenuScreen) => {
    const workflowId = Context.current().info.workflowExecution?.workflowId;
    if (workflowId) deps.earlyAnswers?.publish(workflowId, screen);
  };

  return {
    async readFarm(player: PlayerRef): Promise<FarmRead> {
      const [snapshot, currentWorld] = await Promise.all([readSnapshot(player), world.read()]);
      const read = { snapshot, world: currentWorld };
      answerEarly(farmScreen(read));
      return read;
    },

    /**
     * Sends the action with the per-message workflow id as update id and action id: if this
     * activity runs again after the farm applied the action, the farm answers from memory.
     */
    async applyFarmAction(input: ApplyFarmActionInput): Promise<ApplyFarmActionResult> {
      const outcome = await applyOnce(input);
      answerEarly(actionScreen(outcome));
      return outcome;
    },
  };

  async function applyOnce(input: ApplyFarmActionInput): Promise<ApplyFarmActionResult> {
    const currentWorld = await world.read();
    // Untrusted input: a malformed action is refused here, before it costs a farm update.
    const action = validateAction(input.action);
    if ('reason' in action) {
      return {
        ok: false,
        reason: action.reason,
        snapshot: await readSnapshot(input),
        world: currentWorld,
      };
    }
    const update = ACTION_UPDATES[action.type];
    const args: [FarmActionInput] = [
      {
        actionId: input.actionId,
        action,
        world: currentWorld,
        ...(input.displayName !== undefined ? { displayName: input.displayName } : {}),
      },
    ];
    try {
      const result = await inSpan(`GameFarm update ${update.name}`, {}, () =>
        deps.client.workflow.executeUpdateWithStart(update, {
          startWorkflowOperation: startFarm(input),
          updateId: input.actionId,
          args,
        }),
      );
      return { ok: true, result, world: currentWorld };
    } catch (err) {
      const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
      if (cause instanceof ApplicationFailure && cause.type === 'ActionRefused') {
        return {
          ok: false,
          reason: cause.message,
          snapshot: await readSnapshot(input),
          world: currentWorld,
        };
      }
      throw err;
    }
  }
}
