/**
 * Every wait of the webhook has a bound: a Bot API that accepts calls and never answers still
 * gets the update answered (503, so Telegram delivers it again) within 20 s, and the abandoned
 * update sends nothing later; its redelivery replies once. The real dev server and Redis; Telegram
 * is the local test Bot API server, behind a proxy that can stop answering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { farmWorkflowId, getFarmQuery } from '../../workflows/contract';
import { userHash } from '../../infra/identity';
import { STOP_DEADLINE_MS } from '../../infra/shutdown';
import { CLOSING_GRACE_MS } from '../../bot/routes/webhook';
import { newTelegramUser, startTestBot, type TestBot } from '../support/bot';
import { sleepMs, TEST_SECRET } from '../support/game';
import { startStallingProxy, type StallingProxy } from '../support/stalling-proxy';
import { lastMessage } from '../support/telegram';

/** The webhook answers within 20 s; the margin is for a busy 2-core machine. */
const ANSWER_BOUND_MS = 20_000 + 5_000;

describe('a Bot API that accepts calls and never answers', () => {
  let b: TestBot;
  let proxy: StallingProxy;
  let apiPort = 0;
  beforeAll(async () => {
    proxy = await startStallingProxy(() => ({ host: '127.0.0.1', port: apiPort }));
    b = await startTestBot({
      mode: 'webhook',
      apiRoot: (url) => {
        apiPort = Number(new URL(url).port);
        return `http://127.0.0.1:${proxy.port}`;
      },
    });
  });
  afterAll(async () => {
    proxy.mode = 'forward';
    await b?.close();
    await proxy?.close();
  });

  it('a command is answered 503 within the bound, and its redelivery replies', async () => {
    const user = newTelegramUser();
    expect((await b.api.sendText(user, '/start')).status).toBe(200);

    proxy.mode = 'stall';
    const started = Date.now();
    const during = await b.api.sendText(user, '/farm');
    const tookMs = Date.now() - started;
    expect(during.status).toBe(503);
    expect(tookMs).toBeLessThan(ANSWER_BOUND_MS);
    expect(proxy.stalledBytes).toBeGreaterThan(0);

    proxy.mode = 'forward';
    expect((await b.api.redeliver(during.updateId)).status).toBe(200);
    expect(b.api.messages(user.id)).toHaveLength(2);
  }, 90_000);

  it('a press is answered 503 within the bound; the abandoned update never replies late', async () => {
    const user = newTelegramUser();
    expect((await b.api.sendText(user, '/start')).status).toBe(200);
    const farm = lastMessage(b.api, user.id);
    const bonus = farm.reply_markup!.inline_keyboard.flat().find((k) => /Bonus/.test(k.text))!;

    proxy.mode = 'stall';
    const started = Date.now();
    const during = await b.api.pressButton(
      user,
      { chat_id: user.id, message_id: farm.message_id },
      'callback_data' in bonus ? bonus.callback_data : '',
    );
    expect(during.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(ANSWER_BOUND_MS);

    proxy.mode = 'forward';
    const callsAfter = b.api.calls.length;
    await sleepMs(3000);
    // Nothing from the abandoned update reached Telegram once it answered again.
    expect(b.api.calls.slice(callsAfter).map((c) => c.method)).toEqual([]);

    expect((await b.api.redeliver(during.updateId)).status).toBe(200);
    expect(lastMessage(b.api, user.id).text).toMatch(/Daily bonus: \+50/);
    const bonusEdits = b.api.calls.filter(
      (c) => c.method === 'editMessageText' && /Daily bonus/.test(String(c.params.text)),
    );
    expect(bonusEdits.filter((c) => c.params.chat_id === user.id)).toHaveLength(1);
    const state = await b.t.client.workflow
      .getHandle(farmWorkflowId(userHash(user.id, TEST_SECRET)))
      .query(getFarmQuery);
    expect(state.farm.coins).toBe(100);
  }, 90_000);
});

describe('a bot that stops with an update in flight', () => {
  let b: TestBot;
  let proxy: StallingProxy;
  let apiPort = 0;
  afterAll(async () => {
    proxy.mode = 'forward';
    await b?.close();
    await proxy?.close();
  });

  it('answers it 503 within the closing grace, so the process stops in time and Telegram redelivers', async () => {
    proxy = await startStallingProxy(() => ({ host: '127.0.0.1', port: apiPort }));
    b = await startTestBot({
      mode: 'webhook',
      apiRoot: (url) => {
        apiPort = Number(new URL(url).port);
        return `http://127.0.0.1:${proxy.port}`;
      },
    });
    const user = newTelegramUser();
    expect((await b.api.sendText(user, '/start')).status).toBe(200);

    proxy.mode = 'stall';
    const during = b.api.sendText(user, '/farm');
    await sleepMs(500);
    const stopping = Date.now();
    const stopped = b.service.stop();
    expect((await during).status).toBe(503);
    await stopped;
    // Without the closing grace the update would run to its own deadline (UPDATE_DEADLINE_MS);
    // the process's stop deadline (STOP_DEADLINE_MS) would have cut the connection first.
    expect(Date.now() - stopping).toBeLessThan(CLOSING_GRACE_MS + 2_500);
    expect(CLOSING_GRACE_MS + 2_500).toBeLessThan(STOP_DEADLINE_MS);
  }, 60_000);
});
