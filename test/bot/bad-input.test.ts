/**
 * Input the bot cannot use is answered 200 (or 400 for a body that is not an update), never 503:
 * a 5xx makes Telegram deliver the same update again and again. Real update JSON, posted to the
 * real webhook on the real dev server and Redis; only Telegram is the local test Bot API server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { farmWorkflowId } from '../../workflows/contract';
import { userHash } from '../../infra/identity';
import { STALE_BUTTON_TEXT } from '../../bot/render';
import { newTelegramUser, startTestBot, type TestBot, WEBHOOK_SECRET } from '../support/bot';
import { TEST_SECRET } from '../support/game';
import { lastMessage } from '../support/telegram';

describe('bad input reaching the webhook', () => {
  let b: TestBot;
  beforeAll(async () => {
    b = await startTestBot({ mode: 'webhook' });
  });
  afterAll(() => b?.close());

  const post = (body: unknown) =>
    fetch(b.webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-telegram-bot-api-secret-token': WEBHOOK_SECRET,
      },
      body: JSON.stringify(body),
    });

  it.each([
    ['a number', 7],
    ['true', true],
    ['an array', ['1:f']],
    ['an object', { kind: 'farm' }],
  ])('callback_query.data that is %s: 200, the press answered politely', async (_, data) => {
    const user = newTelegramUser();
    expect((await b.api.sendText(user, '/start')).status).toBe(200);
    const farm = lastMessage(b.api, user.id);
    const queryId = `bad-${user.id}`;
    const delivery = await b.api.deliver({
      callback_query: {
        id: queryId,
        from: { id: user.id, is_bot: false, first_name: user.first_name },
        message: {
          message_id: farm.message_id,
          date: farm.date,
          chat: { id: user.id, type: 'private', first_name: user.first_name },
          from: { ...b.api.botInfo },
          text: farm.text,
        },
        chat_instance: '42',
        data: data as unknown as string,
      },
    });
    expect(delivery.status).toBe(200);
    const answer = b.api.calls.find(
      (c) => c.method === 'answerCallbackQuery' && c.params.callback_query_id === queryId,
    );
    expect(answer?.params.text).toBe(STALE_BUTTON_TEXT);
  });

  it.each([
    ['null', null],
    ['true', true],
    ['a string of digits', '123'],
    ['an array of one number', [123]],
    ['negative', -1],
    ['a fraction', 1.5],
  ])('update_id that is %s: 400, nothing started', async (_, updateId) => {
    const user = newTelegramUser();
    const callsBefore = b.api.calls.length;
    const response = await post({
      update_id: updateId,
      message: {
        message_id: 1,
        date: Math.floor(Date.now() / 1000),
        chat: { id: user.id, type: 'private', first_name: user.first_name },
        from: { id: user.id, is_bot: false, first_name: user.first_name },
        text: '/start',
        entities: [{ type: 'bot_command', offset: 0, length: 6 }],
      },
    });
    expect(response.status).toBe(400);
    // /start from a new player would have created the farm and sent it.
    const farm = b.t.client.workflow.getHandle(farmWorkflowId(userHash(user.id, TEST_SECRET)));
    await expect(farm.describe()).rejects.toThrow(/not found/i);
    expect(b.api.calls.slice(callsBefore)).toEqual([]);
  });

  it('still takes a well-formed update', async () => {
    const user = newTelegramUser();
    expect((await b.api.sendText(user, '/start')).status).toBe(200);
    expect(lastMessage(b.api, user.id).text).toMatch(/Your farm/);
  });
});
