/**
 * Support's compensation: coins for one player, with a reason, through the farm's idempotent grant
 * signal. The client sends an idempotency key; the compensation's workflow id and the farm's grant
 * id both come from it, so a double click, a retried request or a second console tab pays once.
 * Each is a SupportGrantWorkflow carrying the player's UserHash, with who (the token's name), why
 * and how much in its input and memo: Temporal keeps the record and the player's timeline shows it.
 */
import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { isTemporalUnavailable } from '../failures';
import { isUserHash } from '../../infra/identity';
import {
  farmWorkflowId,
  hasGrantQuery,
  SUPPORT_GRANT_MEMO,
  type SupportGrantInput,
  type SupportGrantResult,
  supportGrantId,
  supportGrantWorkflowId,
  USER_HASH_SEARCH_ATTRIBUTE,
  WORKFLOW_TYPES,
} from '../../workflows/contract';
import { MalformedSupportCodeError, normalizeSupportCode, UnknownPlayerError } from './story';

/** What a client may use as an idempotency key (a UUID fits). */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_-]{8,64}$/;
export const MAX_REASON_LENGTH = 200;
/** Checking the farm and starting the compensation. */
const START_TIMEOUT_MS = 5_000;
/**
 * How long the answer waits for the compensation's result once it is recorded; past it the answer
 * is `pending` (the workflow pays when a game worker runs it).
 */
const RESULT_WAIT_MS = 5_000;
/** The farm's confirmation that it shows the grant. */
const CONFIRM_TIMEOUT_MS = 3_000;

export class CompensationRequestError extends Error {
  override name = 'CompensationRequestError';
}

/** The compensation's workflow failed: sending it again with the same key runs it again. */
export class CompensationFailedError extends Error {
  override name = 'CompensationFailedError';
}

/** The idempotency key was used before for another compensation. */
export class CompensationConflictError extends Error {
  override name = 'CompensationConflictError';
}

export interface CompensationRequest {
  userHash: string;
  coins: number;
  reason: string;
  idempotencyKey: string;
  /** The support token's name. */
  by: string;
}

export interface Compensation {
  /**
   * granted: this request paid it; already granted: an earlier request with the key did;
   * pending: recorded, and paid when a game worker runs it (ask again with the same key).
   */
  status: 'granted' | 'already granted' | 'pending';
  grantId: string;
  coins: number;
  reason: string;
  by: string;
  workflowId: string;
  /** The farm answered that it shows the grant (false: it did not answer in time). */
  confirmed: boolean;
}

export interface CompensationDeps {
  client: Client;
  /** Where SupportGrantWorkflow runs (the game workers). */
  gameTaskQueue: string;
  /** The most coins one compensation may pay (SUPPORT_GRANT_MAX_COINS). */
  maxCoins: number;
  /** Tests shorten it; default RESULT_WAIT_MS. */
  resultWaitMs?: number;
}

export function createCompensations(deps: CompensationDeps) {
  const { client } = deps;

  const check = (request: CompensationRequest): SupportGrantInput => {
    const userHash = normalizeSupportCode(request.userHash);
    if (!isUserHash(userHash)) throw new MalformedSupportCodeError();
    const reason = request.reason.trim();
    if (!Number.isInteger(request.coins) || request.coins < 1 || request.coins > deps.maxCoins) {
      throw new CompensationRequestError(
        `coins must be a whole number from 1 to ${deps.maxCoins} (the cap of one compensation)`,
      );
    }
    if (reason.length === 0 || reason.length > MAX_REASON_LENGTH) {
      throw new CompensationRequestError(
        `give a reason of 1 to ${MAX_REASON_LENGTH} characters: the player reads it`,
      );
    }
    if (!IDEMPOTENCY_KEY.test(request.idempotencyKey)) {
      throw new CompensationRequestError(
        'idempotencyKey must be 8 to 64 characters of A-Z a-z 0-9 _ - (one per compensation, e.g. a UUID)',
      );
    }
    return { ...request, userHash, reason };
  };

  const confirm = async (userHash: string, grantId: string) => {
    try {
      return await client.withDeadline(Date.now() + CONFIRM_TIMEOUT_MS, () =>
        client.workflow.getHandle(farmWorkflowId(userHash)).query(hasGrantQuery, grantId),
      );
    } catch {
      return false;
    }
  };

  return {
    async grant(request: CompensationRequest): Promise<Compensation> {
      const input = check(request);
      const workflowId = supportGrantWorkflowId(input.userHash, input.idempotencyKey);
      let status: Compensation['status'] = 'granted';
      let granted: SupportGrantInput = input;
      await client.withDeadline(Date.now() + START_TIMEOUT_MS, async () => {
        try {
          await client.workflow.getHandle(farmWorkflowId(input.userHash)).describe();
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) throw new UnknownPlayerError(input.userHash);
          throw err;
        }
        try {
          await client.workflow.start(WORKFLOW_TYPES.supportGrant, {
            workflowId,
            taskQueue: deps.gameTaskQueue,
            args: [input],
            memo: { [SUPPORT_GRANT_MEMO]: input },
            typedSearchAttributes: [{ key: USER_HASH_SEARCH_ATTRIBUTE, value: input.userHash }],
            // A key whose compensation failed may be sent again; one that paid, never.
            workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
            workflowIdConflictPolicy: 'FAIL',
          });
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          const earlier = (await client.workflow.getHandle(workflowId).describe()).memo?.[
            SUPPORT_GRANT_MEMO
          ] as SupportGrantInput | undefined;
          if (
            earlier?.coins !== input.coins ||
            earlier.reason !== input.reason ||
            earlier.by !== input.by
          ) {
            throw new CompensationConflictError(
              'this idempotency key was used for another compensation: send a new key for a new one',
            );
          }
          status = 'already granted';
          granted = earlier;
        }
      });
      const answer = {
        grantId: supportGrantId(input.idempotencyKey),
        coins: granted.coins,
        reason: granted.reason,
        by: granted.by,
        workflowId,
      };
      // Recorded: from here on it pays whatever this request hears back.
      let result: SupportGrantResult;
      try {
        result = await client.withDeadline(Date.now() + (deps.resultWaitMs ?? RESULT_WAIT_MS), () =>
          client.workflow
            .getHandle<(input: SupportGrantInput) => Promise<SupportGrantResult>>(workflowId)
            .result(),
        );
      } catch (err) {
        if (err instanceof WorkflowFailedError) {
          throw new CompensationFailedError(
            `the compensation failed (${err.cause?.message ?? err.message}): send it again with the same key to run it again`,
          );
        }
        if (!isTemporalUnavailable(err)) throw err;
        return { ...answer, status: 'pending', confirmed: false };
      }
      if (result.outcome === 'no farm') throw new UnknownPlayerError(input.userHash);
      return { ...answer, status, confirmed: await confirm(input.userHash, result.grantId) };
    },
  };
}

export type Compensations = ReturnType<typeof createCompensations>;
