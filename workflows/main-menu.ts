/**
 * The per-message workflows: one per incoming message or button press, id
 * `main-menu-<userHash>-<update>`, carrying UserHash so support finds every message of a player.
 * They run on a worker in the process that starts them and do their work in local activities:
 * a message costs an eager start plus one farm update.
 */
import { proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type {
  MainMenuActivities,
  MainMenuMessageInput,
  MainMenuQueryInput,
  MainMenuScreen,
} from './contract';
import { actionScreen, farmScreen } from './screens';

// MainMenuQueryWorkflow's local activity is `readFarm`, MainMenuMessageWorkflow's is
// `applyFarmAction`: activity names are recorded in history, so they keep their names.
const { readFarm, applyFarmAction } = proxyLocalActivities<MainMenuActivities>({
  startToCloseTimeout: '5s',
  retry: {
    initialInterval: '50ms',
    backoffCoefficient: 2,
    maximumInterval: '1s',
    maximumAttempts: 10,
  },
});

export async function MainMenuQueryWorkflow(input: MainMenuQueryInput): Promise<MainMenuScreen> {
  return farmScreen(
    await readFarm({
      userHash: input.userHash,
      sealedChatId: input.sealedChatId,
      ...(input.displayName !== undefined ? { displayName: input.displayName } : {}),
    }),
  );
}

export async function MainMenuMessageWorkflow(
  input: MainMenuMessageInput,
): Promise<MainMenuScreen> {
  const outcome = await applyFarmAction({
    actionId: workflowInfo().workflowId,
    userHash: input.userHash,
    sealedChatId: input.sealedChatId,
    action: input.action,
    ...(input.displayName !== undefined ? { displayName: input.displayName } : {}),
  });
  return actionScreen(outcome);
}
