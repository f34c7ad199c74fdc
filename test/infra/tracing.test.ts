/**
 * One trace spans a whole button press: the webhook's span, the per-message workflow's start, the
 * activity that workflow ran (on a worker, which continues the trace from the workflow's headers),
 * the farm's update inside it, and the Bot API calls that answered the player. Real dev server,
 * real Redis; spans go to an in-memory exporter instead of an OTLP collector, and Telegram is the
 * local Bot API server (it cannot be reached from here). Log lines inside a span carry its trace id.
 */
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../infra/logging';
import { inSpan, installTracing, uninstallTracing } from '../../infra/tracing';
import { newTelegramUser, startTestBot, type TestBot } from '../support/bot';
import { press } from '../support/telegram';

describe('traces', () => {
  const exporter = new InMemorySpanExporter();
  let b: TestBot;
  beforeAll(async () => {
    installTracing(createLogger('silent'), 'farmflow-test', {
      spanProcessor: new SimpleSpanProcessor(exporter),
    });
    b = await startTestBot({ mode: 'webhook' });
  });
  afterAll(async () => {
    await b.close();
    await uninstallTracing();
  });

  it('follow a button press from the webhook to the workflow, its activity, the farm and the Bot API', async () => {
    const user = newTelegramUser();
    await b.api.sendText(user, '/start');
    exporter.reset();
    const bonus = await press(b.api, user, /Bonus/);

    const spans = exporter.getFinishedSpans();
    const webhook = spans.find(
      (span) =>
        span.name === 'telegram update' && span.attributes['telegram.update_id'] === bonus.updateId,
    );
    expect(webhook, spans.map((span) => span.name).join(', ')).toBeDefined();
    const traceId = webhook!.spanContext().traceId;
    const inTrace = spans.filter((span) => span.spanContext().traceId === traceId);
    const names = inTrace.map((span) => span.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'telegram update',
        'StartWorkflow:MainMenuMessageWorkflow',
        'RunActivity:applyFarmAction',
        'GameFarm update claimDailyBonus',
        'BotApi answerCallbackQuery',
        'BotApi editMessageText',
      ]),
    );
    // The webhook's span is the root; every other span descends from it.
    expect(webhook!.parentSpanId).toBeUndefined();
    const ids = new Set(inTrace.map((span) => span.spanContext().spanId));
    for (const span of inTrace.filter((s) => s !== webhook)) {
      expect(ids.has(span.parentSpanId!), `${span.name}'s parent is in the trace`).toBe(true);
    }
    // The activity ran in the worker from the workflow's headers, under the workflow's start.
    const start = inTrace.find((span) => span.name === 'StartWorkflow:MainMenuMessageWorkflow')!;
    const activity = inTrace.find((span) => span.name === 'RunActivity:applyFarmAction')!;
    expect(activity.parentSpanId).toBe(start.spanContext().spanId);
  });

  it('put the trace id on every log line written inside a span', async () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => lines.push(line) });
    const traceId = await inSpan('a request', {}, async () => {
      logger.info('inside');
      const { trace } = await import('@opentelemetry/api');
      return trace.getActiveSpan()!.spanContext().traceId;
    });
    logger.info('outside');
    const [inside, outside] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(inside).toMatchObject({ msg: 'inside', trace_id: traceId });
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(outside!.trace_id).toBeUndefined();
  });
});
