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
  WorkflowNotFoundError,
} from '@temporalio/client';
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
/** All of a compensation's Temporal calls, its result included. */
const GRANT_TIMEOUT_MS = 10_000;
/** The farm's confirmation that it shows the grant. */
const CONFIRM_TIMEOUT_MS = 3_000;

export class CompensationRequestError extends Error {
  override name = 'CompensationRequestError';
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
  /** granted: this request paid it; already granted: an earlier request with the key did. */
  status: 'granted' | 'already granted';
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
      return client.withDeadline(Date.now() + GRANT_TIMEOUT_MS, async () => {
        try {
          await client.workflow.getHandle(farmWorkflowId(input.userHash)).describe();
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) throw new UnknownPlayerError(input.userHash);
          throw err;
        }
        let status: Compensation['status'] = 'granted';
        let granted: SupportGrantInput = input;
        try {
          await client.workflow.start(WORKFLOW_TYPES.supportGrant, {
            workflowId,
            taskQueue: deps.gameTaskQueue,
            args: [input],
            memo: { [SUPPORT_GRANT_MEMO]: input },
            typedSearchAttributes: [{ key: USER_HASH_SEARCH_ATTRIBUTE, value: input.userHash }],
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
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
        const result = await client.workflow
          .getHandle<(input: SupportGrantInput) => Promise<SupportGrantResult>>(workflowId)
          .result();
        if (result.outcome === 'no farm') throw new UnknownPlayerError(input.userHash);
        return {
          status,
          grantId: supportGrantId(input.idempotencyKey),
          coins: granted.coins,
          reason: granted.reason,
          by: granted.by,
          workflowId,
          confirmed: await confirm(input.userHash, result.grantId),
        };
      });
    },
  };
}

export type Compensations = ReturnType<typeof createCompensations>;
