import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { log as activityLog } from '@temporalio/activity';
import { BotError, type Context, GrammyError } from 'grammy';
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

describe('logging: errors never carry a Telegram token, user ids or message texts', () => {
  it("drops grammY's BotError context and GrammyError payload, through causes and wrapped errors, leaving the caller's objects alone", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const token = '123456:AAH-a-real-looking-bot-token';
    const userId = 987654321;
    const update = {
      update_id: 1,
      message: { from: { id: userId }, chat: { id: userId }, text: 'my secret plan' },
    };
    const ctx = { update, api: { token } } as unknown as Context;
    const apiError = new GrammyError(
      'Call to sendMessage failed',
      { ok: false, error_code: 400, description: 'Bad Request: chat not found' },
      'sendMessage',
      { chat_id: userId, text: 'my secret plan' },
    );
    const details = { payload: 'kept', ctx: 'kept too' };
    const botError = new BotError(new Error('wrapped', { cause: apiError }), ctx);
    Object.assign(botError, { details });

    createLogger('info', sink).error({ err: botError }, 'update failed');

    const line = lines.join('');
    expect(line).toContain('Bad Request: chat not found');
    expect(line).toContain('"kept"');
    expect(line).not.toContain(token);
    expect(line).not.toContain(String(userId));
    expect(line).not.toContain('my secret plan');
    expect(details).toEqual({ payload: 'kept', ctx: 'kept too' });
  });
});
