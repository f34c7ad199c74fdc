import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { log as activityLog } from '@temporalio/activity';
import fastify from 'fastify';
import { BotError, type Context, GrammyError, HttpError } from 'grammy';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger, logSecrets, redactLinkSignatures } from '../../infra/logging';
import { PinoTemporalLogger } from '../../worker/runtime';
import { connectTestTemporal, installTestRuntime, type TestTemporal } from '../support/temporal';
import { probeWorkflow } from '../support/workflows';
import { captureLogs } from '../support/logs';

describe('logging: workflow and activity lines are JSON and carry the ids support needs', () => {
  const { logger, lines } = captureLogs();
  let t: TestTemporal;

  beforeAll(async () => {
    // Must precede connectTestTemporal: the Runtime and its logger are per process.
    installTestRuntime(logger);
    t = await connectTestTemporal();
    await t.startWorker({
      echo: async (message: string) => {
        activityLog.info('echoing', { length: message.length });
        return message;
      },
    });
  });
  afterAll(() => t.close());

  it('adds workflowId, runId, workflowType and userHash to workflow and activity lines, and no taskToken', async () => {
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
    // The task token completes the activity from anywhere: log readers get no use of it.
    expect(fromActivity).not.toHaveProperty('taskToken');
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

describe("logging: a signed link's signature never reaches a log line", () => {
  it('keeps the link and drops its sig, in any line of the process logger and its children', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => lines.push(line) });
    const link = '/api/reports/abcdefghijklmnop-x?format=png&expires=1796036763741&sig=Zm9vYmFy_-9';
    logger.child({ component: 'http' }).info({ req: { url: link } }, 'incoming request');
    logger.warn(`no answer for ${link}#top and ?sig=abc`);
    expect(lines.join('')).not.toMatch(/Zm9vYmFy|sig=abc/);
    expect(lines[0]).toContain('?format=png&expires=1796036763741&sig=[redacted]');
    expect(lines[1]).toContain('sig=[redacted]#top and ?sig=[redacted]');
    expect(redactLinkSignatures('nothing to see')).toBe('nothing to see');
  });
});

describe('logging: no secret reaches a log line, whatever logs it', () => {
  const token = '123456:AAH-a-real-looking-bot-token-0123456789';
  const webhookSecret = 'webhook-secret-of-the-tests_0123';
  // Characters JSON escapes and URLs encode.
  const userHashSecret = 'user "hash" secret \\ with: spaces/0123456789';
  const adminToken = 'admin-token_of+the/tests~0123456789abcdef==';
  const supportToken = 'support-token_of+the/tests~0123456789abcdef';
  const secrets = logSecrets({
    admin: { token: adminToken, host: '127.0.0.1', port: 3001 },
    support: {
      tokens: [{ name: 'alice', token: supportToken }],
      grantMaxCoins: 1000,
      temporalUiUrl: 'http://127.0.0.1:8233',
    },
    telegram: {
      token,
      webhookSecret,
      apiRoot: 'https://api.telegram.org',
      mode: 'webhook',
      webhookUrl: undefined,
    },
    userHashSecret,
  });

  const lowerHex = (encoded: string) => encoded.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase());

  /** An error tree holding the secrets everywhere an error can: message, cause, list, fields, stack. */
  function errorTree() {
    const url = `https://api.telegram.org/bot${token}/sendMessage`;
    const fetchError = new Error(`request to ${url} failed, reason: socket hang up`, {
      cause: new Error(`invalid json response body at ${url}`),
    });
    const httpError = new HttpError("Network request for 'sendMessage' failed!", fetchError);
    const listed = Object.assign(new Error(`listed ${encodeURIComponent(token)}`), {
      payload: { chat_id: 1 },
      header: webhookSecret,
    });
    const aggregate = new AggregateError(
      [
        new Error(`cause ${userHashSecret}`, { cause: fetchError }),
        listed,
        new Error(`lower-case hex ${lowerHex(encodeURIComponent(token))}`),
      ],
      `several failed: ${new URLSearchParams({ s: userHashSecret }).toString()}`,
    );
    const root = new Error('root', { cause: httpError });
    Object.assign(root, {
      details: { secret_token: webhookSecret, nested: [{ deeper: userHashSecret }] },
      request: { headers: { authorization: `Bearer ${adminToken}` } },
      support: { headers: { authorization: `Bearer ${supportToken}` } },
      inner: aggregate,
    });
    root.stack = `Error: root\n    at fetch (${url}:1:1)`;
    return root;
  }

  it('the process logger, a child, fastify and the Temporal logger write no secret, in any form', async () => {
    const lines: string[] = [];
    const logger = createLogger(
      'trace',
      { write: (line: string) => void lines.push(line) },
      secrets,
    );
    const tree = errorTree();

    logger.error({ err: tree }, 'process logger');
    logger.child({ component: 'child', url: `/bot${token}/` }).warn({ err: tree }, 'child');
    logger.error({ failure: tree, header: webhookSecret }, `message ${String(tree.cause)}`);
    logger.error({ err: (tree as Error & { inner: Error }).inner }, 'an AggregateError');

    const app = fastify({ loggerInstance: logger.child({ component: 'http' }) });
    app.get('/fails', async (req) => {
      req.log.warn({ err: tree }, 'route');
      throw tree;
    });
    expect((await app.inject({ method: 'GET', url: '/fails' })).statusCode).toBe(500);
    await app.close();

    new PinoTemporalLogger(logger.child({ component: 'temporal' })).error('activity failed', {
      error: tree,
      taskQueue: `q-${webhookSecret}`,
    });

    // Every path wrote its line, with the error in it, and each line is still JSON.
    const all = lines.join('');
    for (const msg of ['process logger', 'child', 'route', 'activity failed'])
      expect(all).toContain(`"msg":"${msg}"`);
    expect(all).toMatch(/"statusCode":500/);
    expect(all).toContain('several failed');
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();

    const forms = [
      token,
      webhookSecret,
      userHashSecret,
      adminToken,
      supportToken,
      token.split(':')[1]!,
    ].flatMap((s) => [
      s,
      JSON.stringify(s).slice(1, -1),
      encodeURIComponent(s),
      lowerHex(encodeURIComponent(s)),
      new URLSearchParams({ s }).toString().slice(2),
    ]);
    for (const form of forms) expect(all).not.toContain(form);
    expect(all).toContain(`/bot[redacted]/sendMessage`);
    // What the serializer drops from every error of the tree, AggregateError's list included.
    expect(all).not.toContain('chat_id');
  });
});
