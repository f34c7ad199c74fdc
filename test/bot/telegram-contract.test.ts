/**
 * What the bot asks of Telegram and how long it remembers what it answered: the update kinds it
 * subscribes to (allowed_updates of setWebhook and getUpdates: only kinds a feature acts on),
 * and the reply-sent marks that keep a redelivered update from being answered twice, which are
 * needed only while Telegram redelivers (24 hours). Telegram is the local test Bot API server;
 * Temporal and Redis are real.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedCall } from '../../dev/bot-api';
import { newTelegramUser, startTestBot, type TestBot } from '../support/bot';

/** The kinds the bot's features act on: commands and hints, buttons, blocking and unblocking. */
const HANDLED_KINDS = ['callback_query', 'message', 'my_chat_member'];
const DAY_SECONDS = 24 * 60 * 60;

function allowedUpdates(call: RecordedCall): string[] {
  const value = call.params.allowed_updates;
  const kinds: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  return (kinds as string[]).slice().sort();
}

describe('a bot on a webhook', () => {
  let b: TestBot;
  beforeAll(async () => {
    b = await startTestBot({ mode: 'webhook' });
  });
  afterAll(() => b?.close());

  it('subscribes only to the update kinds it handles: no edited messages', async () => {
    const setWebhook = await b.api.waitForCall((call) => call.method === 'setWebhook');
    expect(setWebhook.response.ok).toBe(true);
    expect(allowedUpdates(setWebhook)).toEqual(HANDLED_KINDS);
  });

  it('keeps the mark of a sent reply for 24 hours, as long as Telegram redelivers', async () => {
    const user = newTelegramUser();
    const delivery = await b.api.sendText(user, '/start');
    expect(delivery.status).toBe(200);
    const ttl = await b.redis.ttl(`${b.keyPrefix}reply-sent:${delivery.updateId}`);
    expect(ttl).toBeGreaterThan(DAY_SECONDS - 60);
    expect(ttl).toBeLessThanOrEqual(DAY_SECONDS);
  });
});

describe('a bot on long polling', () => {
  let b: TestBot;
  beforeAll(async () => {
    b = await startTestBot({ mode: 'polling' });
  });
  afterAll(() => b?.close());

  it('asks getUpdates only for the update kinds it handles', async () => {
    // The server records a long poll when it answers: an update ends the one waiting now.
    await b.api.sendText(newTelegramUser(), '/start');
    const getUpdates = await b.api.waitForCall((call) => call.method === 'getUpdates', 10_000);
    expect(allowedUpdates(getUpdates)).toEqual(HANDLED_KINDS);
  });
});
