import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTestTemporal, type TestTemporal } from '../support/temporal';
import { probeWorkflow } from '../support/workflows';

describe('foundation: a workflow on the real dev server', () => {
  let t: TestTemporal;
  beforeAll(async () => {
    t = await connectTestTemporal();
    await t.startWorker({ echo: async (message: string) => `echo: ${message}` });
  });
  afterAll(() => t.close());

  it('sets UserHash, sleeps on a durable timer, calls an activity, and is found by UserHash', async () => {
    const userHash = `probe${randomUUID().replaceAll('-', '').slice(0, 11)}`;
    const started = Date.now();
    const result = await t.client.workflow.execute(probeWorkflow, {
      taskQueue: t.taskQueue,
      workflowId: `probe-${userHash}`,
      args: [{ userHash, sleepMs: 200, message: 'hello' }],
    });
    expect(result).toBe('echo: hello');
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);

    // Visibility is eventually consistent: poll until the workflow shows up.
    let found: string[] = [];
    for (let i = 0; i < 50 && found.length === 0; i++) {
      found = [];
      for await (const wf of t.client.workflow.list({ query: `UserHash = "${userHash}"` })) {
        found.push(wf.workflowId);
      }
      if (found.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(found).toEqual([`probe-${userHash}`]);

    const other: string[] = [];
    for await (const wf of t.client.workflow.list({ query: `UserHash = "nobody${userHash}"` })) {
      other.push(wf.workflowId);
    }
    expect(other).toEqual([]);
  });
});
