/**
 * End to end: update JSON as Telegram sends it → webhook → per-message workflows on the real dev
 * server → replies arriving at the test Bot API server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { farmWorkflowId, getFarmQuery } from '../../workflows/contract';
import { userHash } from '../../infra/identity';
import { newTelegramUser, startTestBot, type TestBot, WEBHOOK_SECRET } from '../support/bot';
import { TEST_SECRET, sleepMs } from '../support/game';
import { buttons, isNotification, lastMessage, press } from '../support/telegram';

describe('playing through the webhook', () => {
  let b: TestBot;
  beforeAll(async () => {
    b = await startTestBot({ mode: 'webhook' });
  });
  afterAll(() => b.close());

  it('registered the webhook with its secret at start', () => {
    const setWebhook = b.api.calls.find((c) => c.method === 'setWebhook');
    expect(setWebhook?.params).toMatchObject({ url: b.webhookUrl, secret_token: WEBHOOK_SECRET });
  });

  async function playSession(user: ReturnType<typeof newTelegramUser>) {
    const started = await b.api.sendText(user, '/start');
    expect(started.status).toBe(200);
    expect(lastMessage(b.api, user.id).text).toMatch(/Your farm · level 1 · 50 🪙/);
    const farmMessageId = lastMessage(b.api, user.id).message_id;

    await press(b.api, user, /Plant on 1/);
    expect(lastMessage(b.api, user.id).text).toMatch(/What to plant on plot 1/);
    await press(b.api, user, /Wheat/);
    expect(lastMessage(b.api, user.id).text).toMatch(/Planted wheat on plot 1/);
    expect(lastMessage(b.api, user.id).text).toMatch(/45 🪙/);

    await sleepMs(200); // wheat: 2 min × 0.001
    await press(b.api, user, /Refresh/);
    await press(b.api, user, /Harvest/);
    expect(lastMessage(b.api, user.id).text).toMatch(/Harvested 3 wheat/);
    await press(b.api, user, /Sell 3 wheat/);
    expect(lastMessage(b.api, user.id).text).toMatch(/Sold 3 wheat for 12 🪙/);
    expect(lastMessage(b.api, user.id).text).toMatch(/57 🪙/);
    await press(b.api, user, /Bonus/);
    expect(lastMessage(b.api, user.id).text).toMatch(/Daily bonus: \+50/);

    // Every press edited the one farm message in place.
    expect(
      b.api
        .messages(user.id)
        .filter((m) => !isNotification(m))
        .map((m) => m.message_id),
    ).toEqual([farmMessageId]);

    await b.api.sendText(user, '/help');
    const help = lastMessage(b.api, user.id);
    expect(help.source).toContain(`<code>${userHash(user.id, TEST_SECRET)}</code>`);
  }

  it('two players play a whole session at once, each on their own farm', async () => {
    const [alice, bob] = [newTelegramUser(), newTelegramUser()];
    await Promise.all([playSession(alice), playSession(bob)]);
    for (const user of [alice, bob]) {
      const farm = await b.t.client.workflow
        .getHandle(farmWorkflowId(userHash(user.id, TEST_SECRET)))
        .query(getFarmQuery);
      expect(farm.farm.coins).toBe(107);
    }
    // Every button press was answered.
    const pressed = [...b.api.updates.values()].filter((u) => u.callback_query).length;
    const answered = b.api.calls.filter(
      (c) => c.method === 'answerCallbackQuery' && c.response.ok,
    ).length;
    expect(answered).toBeGreaterThanOrEqual(pressed);
  });

  it('handles a redelivered update once and does not reply twice', async () => {
    const user = newTelegramUser();
    await b.api.sendText(user, '/start');
    const bonus = await press(b.api, user, /Bonus/);
    const callsBefore = b.api.calls.length;
    const again = await b.api.redeliver(bonus.updateId);
    expect(again.status).toBe(200);
    expect(
      b.api.calls.slice(callsBefore).filter((c) => c.method !== 'answerCallbackQuery'),
    ).toEqual([]);
    const farm = await b.t.client.workflow
      .getHandle(farmWorkflowId(userHash(user.id, TEST_SECRET)))
      .query(getFarmQuery);
    expect(farm.farm.coins).toBe(100);
  });

  it('refuses a forged webhook request and starts nothing', async () => {
    const user = newTelegramUser();
    const body = JSON.stringify({
      update_id: 1,
      message: {
        message_id: 1,
        date: 0,
        chat: { id: user.id, type: 'private' },
        from: { ...user, is_bot: false },
        text: '/start',
      },
    });
    for (const headers of [{}, { 'x-telegram-bot-api-secret-token': 'wrong' }] as Record<
      string,
      string
    >[]) {
      const res = await fetch(b.webhookUrl, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...headers },
      });
      expect(res.status).toBe(401);
    }
    await sleepMs(100);
    expect(b.api.messages(user.id)).toEqual([]);
    const found = [];
    for await (const wf of b.t.client.workflow.list({
      query: `UserHash = "${userHash(user.id, TEST_SECRET)}"`,
    }))
      found.push(wf);
    expect(found).toEqual([]);
  });

  it('shows buttons that all carry valid callback data', async () => {
    const user = newTelegramUser();
    await b.api.sendText(user, '/farm');
    for (const button of buttons(b.api, user.id)) {
      expect(
        'callback_data' in button && Buffer.byteLength(button.callback_data),
      ).toBeLessThanOrEqual(64);
    }
  });
});
