import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { log as activityLog } from '@temporalio/activity';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../logging';
import { connectTestTemporal, installTestRuntime, type TestTemporal } from '../support/temporal';
import { probeWorkflow } from '../support/workflows';

describe('logging: workflow and activity lines are JSON and carry the ids support needs', () => {
  const lines: Record<string, unknown>[] = [];
  let t: TestTemporal;

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n'))
          if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    // Must precede connectTestTemporal: the Runtime and its logger are per process.
    installTestRuntime(createLogger('info', sink));
    t = await connectTestTemporal();
    await t.startWorker({
      echo: async (message: string) => {
        activityLog.info('echoing', { length: message.length });
        return message;
      },
    });
  });
  afterAll(() => t.close());

  it('adds workflowId, runId, workflowType and userHash to workflow and activity lines', async () => {
    const userHash = `log${randomUUID().replaceAll('-', '').slice(0, 13)}`;
    const handle = await t.client.workflow.start(probeWorkflow, {
      taskQueue: t.taskQueue,
      workflowId: `probe-${userHash}`,
      args: [{ userHash, sleepMs: 1, message: 'secret-free' }],
    });
    await handle.result();
    const runId = handle.firstExecutionRunId;

    // Workflow log lines travel through a sink flushed after the activation: wait for them.
    const [fromWorkflow, fromActivity] = await vi.waitFor(() => {
      const found = [
        lines.find((l) => l.msg === 'probe sleeping'),
        lines.find((l) => l.msg === 'echoing'),
      ];
      expect(found.every(Boolean)).toBe(true);
      return found;
    });
    for (const line of [fromWorkflow, fromActivity]) {
      expect(line).toMatchObject({
        workflowId: `probe-${userHash}`,
        runId,
        workflowType: 'probeWorkflow',
        userHash,
        service: 'farmflow',
      });
    }
    expect(fromWorkflow).toMatchObject({ sdkComponent: 'workflow', sleepMs: 1 });
    expect(fromActivity).toMatchObject({ sdkComponent: 'activity', activityType: 'echo' });
  });
});
