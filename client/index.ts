/**
 * What the bot calls: one function per kind of player intent. Each starts the per-message
 * workflow for one Telegram update and returns the screen to show; Temporal stays behind it.
 */
import pLimit from 'p-limit';
import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  type WorkflowOptions,
} from '@temporalio/client';
import {
  mainMenuWorkflowId,
  type MainMenuScreen,
  TASK_QUEUES,
  USER_HASH_SEARCH_ATTRIBUTE,
} from '../common/temporal';
import type { FarmAction } from '../game';
import type { EarlyAnswers } from './early-answers';
import { createChatIdSealer, userHash as deriveUserHash } from '../identity';
import type { MainMenuMessageWorkflow, MainMenuQueryWorkflow } from '../workflows';

export interface GameClientDeps {
  /** Built on the NativeConnection of a worker in this process that polls `taskQueue`, for eager start. */
  client: Client;
  userHashSecret: string;
  taskQueue?: string;
  /** Shared with this process's main-menu activities: answers without waiting for completion. */
  earlyAnswers?: EarlyAnswers;
  /**
   * Intents in flight at once; the rest wait their turn here, first come first served. Keep it
   * below the local worker's workflow task slots: a start that finds no free slot is not eager and
   * waits in Temporal's task queue, where under load newer eager starts keep overtaking it.
   */
  maxInFlight?: number;
  /**
   * The longest an intent waits for its turn; then it fails with GameBusyError without having
   * started (the webhook answers 503 and Telegram delivers the update again later).
   */
  maxWaitMs?: number;
}

/** The game client's queue was too long for this intent: nothing started, try again later. */
export class GameBusyError extends Error {
  constructor(waitedMs: number) {
    super(`No turn to start the intent within ${waitedMs} ms: the bot is overloaded`);
    this.name = 'GameBusyError';
  }
}

export interface Player {
  telegramUserId: number;
  chatId: number;
}

export type Intent = { type: 'show' } | { type: 'act'; action: FarmAction };

export interface IntentResult {
  screen: MainMenuScreen;
  userHash: string;
  /** The update was handled before (Telegram redelivered it): nothing was applied again. */
  duplicate: boolean;
}

export function createGameClient(deps: GameClientDeps) {
  const taskQueue = deps.taskQueue ?? TASK_QUEUES.mainMenu;
  const admit = pLimit(deps.maxInFlight ?? Number.POSITIVE_INFINITY);
  const sealChatId = createChatIdSealer(deps.userHashSecret);

  return {
    userHashOf: (telegramUserId: number) => deriveUserHash(telegramUserId, deps.userHashSecret),

    /**
     * `unique` identifies the incoming update (Telegram's update_id): the same update always maps
     * to the same workflow id, which REJECT_DUPLICATE never reuses, so a redelivery is answered
     * from the first run's result instead of being applied again.
     */
    handleIntent(player: Player, intent: Intent, unique: string): Promise<IntentResult> {
      const { maxWaitMs } = deps;
      if (maxWaitMs === undefined) return admit(() => run(player, intent, unique));
      // p-limit cannot take a queued call back: one whose time ran out is skipped at its turn.
      let expired = false;
      let timer: NodeJS.Timeout | undefined;
      const admitted = admit(() => {
        clearTimeout(timer);
        return expired ? undefined : run(player, intent, unique);
      });
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          expired = true;
          reject(new GameBusyError(maxWaitMs));
        }, maxWaitMs);
      });
      return Promise.race([admitted as Promise<IntentResult>, deadline]);
    },
  };

  async function run(player: Player, intent: Intent, unique: string): Promise<IntentResult> {
    const userHash = deriveUserHash(player.telegramUserId, deps.userHashSecret);
    const sealedChatId = sealChatId(player.chatId);
    const workflowId = mainMenuWorkflowId(userHash, unique);
    const options: WorkflowOptions = {
      workflowId,
      taskQueue,
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [{ key: USER_HASH_SEARCH_ATTRIBUTE, value: userHash }],
      requestEagerStart: true,
    };
    // Registered before the start: an eager start may run the local activity at once.
    const early = deps.earlyAnswers?.wait(workflowId);
    try {
      const handle =
        intent.type === 'show'
          ? await deps.client.workflow.start<typeof MainMenuQueryWorkflow>(
              'MainMenuQueryWorkflow',
              {
                ...options,
                args: [{ userHash, sealedChatId }],
              },
            )
          : await deps.client.workflow.start<typeof MainMenuMessageWorkflow>(
              'MainMenuMessageWorkflow',
              {
                ...options,
                args: [{ userHash, sealedChatId, action: intent.action }],
              },
            );
      const screen = await (early
        ? Promise.race([early.screen, handle.result()])
        : handle.result());
      return { screen, userHash, duplicate: false };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      // A delivery of the same update running now in this process answers both of them early.
      const result = deps.client.workflow
        .getHandle<typeof MainMenuMessageWorkflow>(workflowId)
        .result();
      const screen = await (early ? Promise.race([early.screen, result]) : result);
      return { screen, userHash, duplicate: true };
    } finally {
      early?.cancel();
    }
  }
}

export type GameClient = ReturnType<typeof createGameClient>;
