/**
 * What the chaos play's checks compare the players' records with: read at the end from Temporal
 * (each farm's histories over all its runs, its state and log, the per-message workflows'
 * results, every workflow that failed, timed out or was terminated, the batch's result) and from
 * the chats the local Bot API server kept.
 */
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import pLimit from 'p-limit';
import { parseButton } from '../../bot/callback-data';
import type { ActionEvent } from '../../game';
import { userHash as userHashOf } from '../../infra/identity';
import {
  batchWorkflowId,
  type FarmActionInput,
  type FarmActionResult,
  type FarmLogEntry,
  farmWorkflowId,
  getFarmLogQuery,
  getFarmQuery,
  type MainMenuScreen,
  mainMenuWorkflowId,
  type PlayerBatchResult,
  USER_HASH_SEARCH_ATTRIBUTE,
} from '../../workflows/contract';
import type { TestBotApi } from '../bot-api';
import type { UpdateRecord } from './players';

/** Button kinds whose press is an action on the farm (a MainMenuMessageWorkflow). */
export const ACTION_PRESSES = new Set([
  'plant',
  'harvest',
  'sell',
  'buyPlot',
  'dailyBonus',
  'notifications',
  'showName',
]);

export const isActionPress = (record: UpdateRecord) =>
  record.kind === 'press' && ACTION_PRESSES.has(parseButton(record.input)?.kind ?? '');

/** The per-message workflow of an update (bot/reply.ts keys it on `u<update_id>`). */
export const actionIdOf = (userHash: string, updateId: number) =>
  mainMenuWorkflowId(userHash, `u${updateId}`);

export interface Application {
  actionId: string;
  event: ActionEvent;
  /** Answered from the farm's memory: a retry of an action applied before. */
  repeated: boolean;
}

export interface PlayerFacts {
  userId: number;
  userHash: string;
  /** The farm's coins at the end. */
  coins: number;
  /** Every action update the farm's histories completed, in order, over all runs. */
  applications: Application[];
  /** The farm's log at the end (grants and notifications), oldest first. */
  log: FarmLogEntry[];
  /** The per-message workflows' results, by update id (action presses only). */
  results: Record<number, MainMenuScreen | { error: string }>;
  /** Workflows of this player that failed, timed out or were terminated. */
  badWorkflows: string[];
  /** Messages the bot sent this player that carry the reward batch's message. */
  rewardMessages: number;
}

export interface Facts {
  players: PlayerFacts[];
  batch: PlayerBatchResult | { error: string };
  /** Failed, timed out or terminated workflows of no player (batches, the backfill…). */
  otherBadWorkflows: string[];
}

const BAD_STATUSES = `ExecutionStatus = "Failed" OR ExecutionStatus = "TimedOut" OR ExecutionStatus = "Terminated"`;
/**
 * A query of a farm whose worker was SIGKILLed waits for the sticky queue's schedule-to-start
 * timeout before Temporal hands it to another worker; a play that ends soon after a kill reads
 * such farms.
 */
const CALL_TIMEOUT_MS = 30_000;

const within = <T>(promise: Promise<T>, what: string): Promise<T> =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`${what}: no answer in ${CALL_TIMEOUT_MS / 1000} s`)),
        CALL_TIMEOUT_MS,
      ).unref(),
    ),
  ]);

const decode = <T>(payload: temporal.api.common.v1.IPayload | undefined | null): T =>
  defaultPayloadConverter.fromPayload<T>(payload as never);

/** The action updates one run's history completed, with the action id each carried. */
export function applicationsOf(history: temporal.api.history.v1.IHistory): Application[] {
  const requests = new Map<string, FarmActionInput>();
  const applications: Application[] = [];
  for (const event of history.events ?? []) {
    const accepted = event.workflowExecutionUpdateAcceptedEventAttributes;
    if (accepted?.protocolInstanceId) {
      const arg = accepted.acceptedRequest?.input?.args?.payloads?.[0];
      if (arg) requests.set(accepted.protocolInstanceId, decode<FarmActionInput>(arg));
    }
    const completed = event.workflowExecutionUpdateCompletedEventAttributes;
    const payload = completed?.outcome?.success?.payloads?.[0];
    const request = completed?.meta?.updateId ? requests.get(completed.meta.updateId) : undefined;
    if (!payload || !request?.actionId) continue;
    const result = decode<FarmActionResult>(payload);
    applications.push({
      actionId: request.actionId,
      event: result.event,
      repeated: result.repeated === true,
    });
  }
  return applications;
}

/**
 * Counted in the calls the bot made, not in the chat as it shows now: a player who pressed the
 * message's button had it edited into the farm.
 */
export function rewardsSent(api: TestBotApi, userId: number, text: string): number {
  return api.calls.filter(
    (call) =>
      call.method === 'sendMessage' &&
      call.response.ok &&
      Number(call.params.chat_id) === userId &&
      String(call.params.text).includes(text),
  ).length;
}

export async function readFacts(deps: {
  client: Client;
  api: TestBotApi;
  secret: string;
  userIds: number[];
  records: UpdateRecord[];
  rewardMessage: string;
  batchId: string;
}): Promise<Facts> {
  const { client, api } = deps;
  const limit = pLimit(8);
  const bad = new Map<string, string[]>();
  const otherBadWorkflows: string[] = [];
  for await (const execution of client.workflow.list({ query: BAD_STATUSES })) {
    const owner = execution.typedSearchAttributes.get(USER_HASH_SEARCH_ATTRIBUTE);
    const id = `${execution.workflowId} (${execution.status.name})`;
    if (typeof owner === 'string') bad.set(owner, [...(bad.get(owner) ?? []), id]);
    else otherBadWorkflows.push(id);
  }

  const players = await Promise.all(
    deps.userIds.map((userId) =>
      limit(async (): Promise<PlayerFacts> => {
        const userHash = userHashOf(userId, deps.secret);
        const farmId = farmWorkflowId(userHash);
        const applications: Application[] = [];
        for await (const run of client.workflow.list({ query: `WorkflowId = "${farmId}"` })) {
          const history = await within(
            client.workflow.getHandle(farmId, run.runId).fetchHistory(),
            `history of ${farmId}`,
          );
          applications.push(...applicationsOf(history));
        }
        const farm = client.workflow.getHandle(farmId);
        const [snapshot, log] = await Promise.all([
          within(farm.query(getFarmQuery), `${farmId} getFarm`),
          within(farm.query(getFarmLogQuery), `${farmId} getFarmLog`),
        ]);
        const results: PlayerFacts['results'] = {};
        for (const record of deps.records) {
          if (record.userId !== userId || !isActionPress(record) || !record.answeredAt) continue;
          const id = actionIdOf(userHash, record.updateId);
          results[record.updateId] = await within(
            client.workflow.getHandle<() => Promise<MainMenuScreen>>(id).result(),
            id,
          ).catch((err: unknown) => ({
            error: err instanceof WorkflowNotFoundError ? `${id} not found` : String(err),
          }));
        }
        return {
          userId,
          userHash,
          coins: snapshot.farm.coins,
          applications,
          // The query answers newest first.
          log: [...log].reverse(),
          results,
          badWorkflows: bad.get(userHash) ?? [],
          rewardMessages: rewardsSent(api, userId, deps.rewardMessage),
        };
      }),
    ),
  );

  const batch = await within(
    client.workflow
      .getHandle<() => Promise<PlayerBatchResult>>(batchWorkflowId(deps.batchId))
      .result(),
    'the reward batch',
  ).catch((err: unknown) => ({ error: String(err) }));
  return { players, batch, otherBadWorkflows };
}
