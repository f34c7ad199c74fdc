/**
 * WeeklyPrizeWorkflow: started by the weekly prize schedule (schedules/prizes.ts). It names the
 * week's batch after the ISO week of the time its schedule named (`weekly-prize-2026-W48`) and
 * starts that PlayerBatchWorkflow as a child that outlives it (ABANDON). The child's id may have
 * been used already: a schedule firing twice, a trigger, a backfill of the same week. Temporal
 * then refuses the start (REJECT_DUPLICATE), and that is the answer: the week is paid or being
 * paid, once.
 */
import { log, workflowInfo } from '@temporalio/workflow';
import {
  type PlayerBatchInput,
  SCHEDULED_START_TIME_SEARCH_ATTRIBUTE,
  type WeeklyPrizeInput,
  type WeeklyPrizeResult,
} from './contract';
import { startBatchOnce } from './player-batch';

export async function WeeklyPrizeWorkflow(input: WeeklyPrizeInput): Promise<WeeklyPrizeResult> {
  const info = workflowInfo();
  const at =
    info.typedSearchAttributes.get(SCHEDULED_START_TIME_SEARCH_ATTRIBUTE) ?? info.startTime;
  const batchId = `weekly-prize-${isoWeek(at.getTime())}`;
  const batch: PlayerBatchInput = {
    batchId,
    population: { kind: 'top', prizes: input.prizes },
    payload: { kind: 'grant', coins: 0, xp: 0, reason: input.reason, message: input.message },
    ...(input.pageSize ? { pageSize: input.pageSize } : {}),
    ...(input.parallelism ? { parallelism: input.parallelism } : {}),
  };
  if ((await startBatchOnce(batch)) === 'already started') {
    log.info('this week’s prize batch was already started: nothing to do', { batchId });
    return { batchId, outcome: 'already started' };
  }
  log.info('weekly prize batch started', { batchId });
  return { batchId, outcome: 'started' };
}

/** The ISO 8601 week of a time, in UTC: `2026-W48` (weeks start on Monday; week 1 holds a Thursday). */
export function isoWeek(atMs: number): string {
  const day = new Date(atMs);
  const date = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate()));
  const weekday = date.getUTCDay() || 7;
  // The Thursday of the same week decides the year.
  date.setUTCDate(date.getUTCDate() + 4 - weekday);
  const year = date.getUTCFullYear();
  const week = Math.ceil(((date.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}
