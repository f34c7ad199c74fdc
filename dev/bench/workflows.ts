/** The benchmark's bundle: every production workflow plus the baselines it is measured against. */
import { condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { createBaselineActivities } from './activities';
import { touchTargetUpdate } from './shared';

export * from '../../workflows';

const { noop } = proxyActivities<ReturnType<typeof createBaselineActivities>>({
  startToCloseTimeout: '10s',
});

export async function EmptyWorkflow(): Promise<void> {}

export async function OneActivityWorkflow(): Promise<void> {
  await noop();
}

export async function UpdateTargetWorkflow(): Promise<void> {
  setHandler(touchTargetUpdate, () => undefined);
  await condition(() => false);
}
