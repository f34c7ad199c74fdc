/**
 * Long polling as the alternative to the webhook, and the webhook's answer when Temporal is
 * unreachable: 503 within the start's bound, so that Telegram delivers the update again, which
 * then succeeds.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_START_TIMEOUT_MS } from '../../bot/game-client';
import { newTelegramUser, startTestBot, type TestBot } from '../support/bot';
import { ownDevServer, type OwnDevServer } from '../support/temporal';
import { lastMessage, press } from '../support/telegram';

describe('long polling', () => {
  let b: TestBot;
  afterAll(() => b?.close());

  it('plays through getUpdates, with no webhook set', async () => {
    b = await startTestBot({ mode: 'polling' });
    expect(b.api.calls.some((c) => c.method === 'deleteWebhook')).toBe(true);
    const user = newTelegramUser();
    await b.api.sendText(user, '/start');
    // On a busy machine "working…" may come first, then the farm in its place.
    await b.api.waitForCall(
      (c) => c.params.chat_id === user.id && /Your farm/.test(String(c.params.text)),
      10_000,
    );
    expect(lastMessage(b.api, user.id).text).toMatch(/Your farm/);
    await press(b.api, user, /Bonus/);
    await b.api.waitForCall(
      (c) => c.method === 'editMessageText' && /Daily bonus/.test(String(c.params.text)),
      10_000,
    );
  });
});

describe('the webhook when Temporal is unreachable', () => {
  let server: OwnDevServer | undefined;
  let b: TestBot;
  afterAll(async () => {
    await b?.close();
    await server?.remove();
  });

  it('answers 503 within its bound so Telegram redelivers, and the redelivery succeeds once Temporal is back', async () => {
    server = await ownDevServer();
    await server.start();
    b = await startTestBot({ mode: 'webhook', temporalAddress: server.address });
    const user = newTelegramUser();
    expect((await b.api.sendText(user, '/start')).status).toBe(200);

    await server.stop();
    const started = Date.now();
    const during = await b.api.sendText(user, '/farm');
    const tookMs = Date.now() - started;
    expect(during.status).toBe(503);
    // The SDK's own retries took ~10 s; the start's bound ends them (margin for a busy machine).
    expect(tookMs).toBeLessThan(DEFAULT_START_TIMEOUT_MS + 3_000);

    await server.start();
    const after = await b.api.redeliver(during.updateId);
    expect(after.status).toBe(200);
    expect(b.api.messages(user.id)).toHaveLength(2);
  }, 120_000);
});
