/**
 * What the bot calls: one function per kind of player intent. Each starts the per-message
 * workflow for one Telegram update and returns the screen to show; Temporal stays behind it.
 */
import { metrics } from '../infra/metrics';
import pLimit from 'p-limit';
import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type WorkflowOptions,
} from '@temporalio/client';
import {
  farmWorkflowId,
  mainMenuWorkflowId,
  setReachableSignal,
  type MainMenuScreen,
  TASK_QUEUES,
  USER_HASH_SEARCH_ATTRIBUTE,
  WORKFLOW_TYPES,
} from '../workflows/contract';
import type { FarmAction } from '../game';
import { currentDeadline, whenAborted } from './update-deadline';
import type { EarlyAnswers } from '../activities/early-answers';
import { createChatIdSealer, userHash as deriveUserHash } from '../infra/identity';
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
  /**
   * The longest a workflow start may take, the SDK's own retries included (they take ~10 s to give
   * up on an unreachable server); then the intent fails with IntentTimeoutError.
   */
  startTimeoutMs?: number;
  /** The longest the client waits for a started workflow's screen; then IntentTimeoutError. */
  resultTimeoutMs?: number;
}

/** The start's own bound: a Temporal outage is answered within it. */
export const DEFAULT_START_TIMEOUT_MS = 5_000;
/** The wait for a workflow's screen: a running workflow usually answers within a second. */
export const DEFAULT_RESULT_TIMEOUT_MS = 15_000;

/** The game client's queue was too long for this intent: nothing started, try again later. */
export class GameBusyError extends Error {
  constructor(waitedMs: number) {
    super(`No turn to start the intent within ${waitedMs} ms: the bot is overloaded`);
    this.name = 'GameBusyError';
  }
}

/**
 * No answer within the client's bound. The per-message workflow may have started and may still
 * run (it ends Completed once the system heals): the update must be delivered again, and the
 * redelivery, finding the same workflow id, is answered from its result.
 */
export class IntentTimeoutError extends Error {
  constructor(what: 'start' | 'result', ms: number) {
    super(`No ${what} of the per-message workflow within ${ms} ms; it may still run`);
    this.name = 'IntentTimeoutError';
  }
}

export interface Player {
  telegramUserId: number;
  chatId: number;
  /**
   * The sender's Telegram first name, raw: passed to the farm, which cleans it and shows it on the
   * leaderboard unless the player hides it. Personal data: never logged.
   */
  firstName?: string;
}

/**
 * What a player asks for, named after the per-message workflow that handles it: `query` shows the
 * farm (MainMenuQueryWorkflow), `message` applies an action (MainMenuMessageWorkflow). Their local
 * activities keep the names `readFarm` and `applyFarmAction`: activity names are recorded in
 * workflow histories, so they stay as they are.
 */
export type Intent = { type: 'query' } | { type: 'message'; action: FarmAction };

export interface IntentResult {
  screen: MainMenuScreen;
  userHash: string;
  /** The update was handled before (Telegram redelivered it): nothing was applied again. */
  duplicate: boolean;
}

/** How long the SDK's own call may outlive the bound that already answered the caller. */
const GRPC_DEADLINE_SLACK_MS = 1_000;

export function createGameClient(deps: GameClientDeps) {
  const taskQueue = deps.taskQueue ?? TASK_QUEUES.mainMenu;
  const admit = pLimit(deps.maxInFlight ?? Number.POSITIVE_INFINITY);
  const sealChatId = createChatIdSealer(deps.userHashSecret);

  return {
    userHashOf: (telegramUserId: number) => deriveUserHash(telegramUserId, deps.userHashSecret),
    /** A chat id as workflows carry it: sealed, never raw (the notifications worker opens it). */
    sealChatId,

    /**
     * Tells the player's farm that Telegram says it can (true) or cannot (false) write to them:
     * the farm owns reachability. False when the player has no farm (nothing to tell).
     */
    async setReachable(telegramUserId: number, reachable: boolean): Promise<boolean> {
      const userHash = deriveUserHash(telegramUserId, deps.userHashSecret);
      try {
        await bounded('start', deps.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS, () =>
          deps.client.workflow
            .getHandle(farmWorkflowId(userHash))
            .signal(setReachableSignal, { reachable }),
        );
        return true;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return false;
        throw err;
      }
    },

    /**
     * `updateId` identifies the incoming update (Telegram's update_id): the same update always
     * maps to the same workflow id, which REJECT_DUPLICATE never reuses, so a redelivery is
     * answered from the first run's result instead of being applied again.
     */
    handleIntent(player: Player, intent: Intent, updateId: string): Promise<IntentResult> {
      const { maxWaitMs } = deps;
      // The update's deadline (webhook) ends the wait for a turn too.
      const abandoned = currentDeadline()?.signal;
      if (maxWaitMs === undefined && !abandoned) return admit(() => run(player, intent, updateId));
      // p-limit cannot take a queued call back: one whose time ran out is skipped at its turn.
      let expired = false;
      let timer: NodeJS.Timeout | undefined;
      const admitted = admit(() => {
        clearTimeout(timer);
        return expired || abandoned?.aborted ? undefined : run(player, intent, updateId);
      });
      const waits: Promise<unknown>[] = [admitted];
      if (maxWaitMs !== undefined) {
        waits.push(
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              expired = true;
              reject(new GameBusyError(maxWaitMs));
            }, maxWaitMs);
          }),
        );
      }
      if (abandoned) waits.push(whenAborted(abandoned));
      return Promise.race(waits).finally(() => clearTimeout(timer)) as Promise<IntentResult>;
    },
  };

  /**
   * `call` bounded by `ms` and by the update's deadline, whichever comes first. The gRPC deadline
   * ends each attempt of the SDK's calls (a long poll for a result included) soon after, so nothing
   * keeps polling once the caller gave up; the race ends the SDK's retries between attempts.
   */
  function bounded<T>(what: 'start' | 'result', ms: number, call: () => Promise<T>): Promise<T> {
    const deadline = currentDeadline();
    const ownAt = Date.now() + ms;
    const at = Math.min(ownAt, deadline?.at ?? Number.POSITIVE_INFINITY);
    let timer: NodeJS.Timeout | undefined;
    // The gRPC deadline only stops the SDK once nobody waits; the bound itself is the timer's or
    // the update's, so that the error says which bound it was.
    const waits: Promise<T>[] = [deps.client.withDeadline(at + GRPC_DEADLINE_SLACK_MS, call)];
    if (ownAt <= at) {
      waits.push(
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new IntentTimeoutError(what, ms)), ms);
        }),
      );
    }
    if (deadline) waits.push(whenAborted(deadline.signal));
    return Promise.race(waits).finally(() => clearTimeout(timer));
  }

  async function run(player: Player, intent: Intent, updateId: string): Promise<IntentResult> {
    const userHash = deriveUserHash(player.telegramUserId, deps.userHashSecret);
    const sealedChatId = sealChatId(player.chatId);
    const displayName = player.firstName === undefined ? {} : { displayName: player.firstName };
    const workflowId = mainMenuWorkflowId(userHash, updateId);
    const workflowType =
      intent.type === 'query' ? WORKFLOW_TYPES.mainMenuQuery : WORKFLOW_TYPES.mainMenuMessage;
    const options: WorkflowOptions = {
      workflowId,
      taskQueue,
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [{ key: USER_HASH_SEARCH_ATTRIBUTE, value: userHash }],
      requestEagerStart: true,
    };
    // Registered before the start: an eager start may run the local activity at once.
    const early = deps.earlyAnswers?.wait(workflowId);
    const startMs = deps.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const resultMs = deps.resultTimeoutMs ?? DEFAULT_RESULT_TIMEOUT_MS;
    try {
      const handle = await bounded('start', startMs, () =>
        intent.type === 'query'
          ? deps.client.workflow.start<typeof MainMenuQueryWorkflow>(WORKFLOW_TYPES.mainMenuQuery, {
              ...options,
              args: [{ userHash, sealedChatId, ...displayName }],
            })
          : deps.client.workflow.start<typeof MainMenuMessageWorkflow>(
              WORKFLOW_TYPES.mainMenuMessage,
              {
                ...options,
                args: [{ userHash, sealedChatId, action: intent.action, ...displayName }],
              },
            ),
      );
      metrics.workflowsStarted.inc({ type: workflowType, outcome: 'started' });
      const screen = await bounded('result', resultMs, () =>
        early ? Promise.race([early.screen, handle.result()]) : handle.result(),
      );
      return { screen, userHash, duplicate: false };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      metrics.workflowsStarted.inc({ type: workflowType, outcome: 'duplicate' });
      // A delivery of the same update running now in this process answers both of them early.
      const screen = await bounded('result', resultMs, () => {
        const result = deps.client.workflow
          .getHandle<typeof MainMenuMessageWorkflow>(workflowId)
          .result();
        return early ? Promise.race([early.screen, result]) : result;
      });
      return { screen, userHash, duplicate: true };
    } finally {
      early?.cancel();
    }
  }
}

export type GameClient = ReturnType<typeof createGameClient>;
