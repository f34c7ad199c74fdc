/** The bundle the tests run: every production workflow plus small probes used by tests. */
import { log, proxyActivities, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import { USER_HASH_SEARCH_ATTRIBUTE } from '../../workflows/contract';

export * from '../../workflows';

export interface ProbeActivities {
  echo(message: string): Promise<string>;
}

const { echo } = proxyActivities<ProbeActivities>({ startToCloseTimeout: '10s' });

/** Sets UserHash, sleeps on a durable timer, calls an activity: the foundation's smoke test. */
export async function probeWorkflow(input: { userHash: string; sleepMs: number; message: string }) {
  upsertSearchAttributes([{ key: USER_HASH_SEARCH_ATTRIBUTE, value: input.userHash }] as never);
  log.info('probe sleeping', { sleepMs: input.sleepMs });
  await sleep(input.sleepMs);
  return echo(input.message);
}
