/**
 * SupportGrantWorkflow: support's compensation to one player. Its id comes from the client's
 * idempotency key (`supportGrantWorkflowId`), so a double click starts it once; it signals the
 * farm's idempotent grant (grant id `support-<key>`), so a retried signal pays once too. It
 * carries the player's UserHash, and who granted what and why in its input and memo: Temporal
 * keeps the record, and the player's timeline shows it.
 */
import { ApplicationFailure, getExternalWorkflowHandle, log } from '@temporalio/workflow';
import {
  farmWorkflowId,
  grantRewardSignal,
  type SupportGrantInput,
  type SupportGrantResult,
  supportGrantId,
} from './contract';

export async function SupportGrantWorkflow(input: SupportGrantInput): Promise<SupportGrantResult> {
  const grantId = supportGrantId(input.idempotencyKey);
  try {
    await getExternalWorkflowHandle(farmWorkflowId(input.userHash)).signal(grantRewardSignal, {
      grantId,
      issuedAtMs: Date.now(),
      coins: input.coins,
      xp: 0,
      reason: input.reason,
      message: `Support sent you ${input.coins} coins: ${input.reason}`,
    });
  } catch (err) {
    // The server's answer for a farm that is not running.
    if (err instanceof ApplicationFailure && err.type === 'ExternalWorkflowExecutionNotFound') {
      log.warn('compensation not paid: no farm runs under this support code', { grantId });
      return { outcome: 'no farm', grantId };
    }
    throw err;
  }
  log.info('compensation sent to the farm', { grantId, coins: input.coins, by: input.by });
  return { outcome: 'granted', grantId, coins: input.coins };
}
