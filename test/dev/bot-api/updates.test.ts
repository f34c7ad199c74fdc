import { type AddressInfo } from 'node:net';
import fastify from 'fastify';
import { Bot, InlineKeyboard, webhookCallback } from 'grammy';
import type { Update } from 'grammy/types';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TestBotApi, startTestBotApi } from '../../../dev/bot-api';
import { ALICE, BOB, TOKEN, call, eventually, ok, startReceiver } from './helpers';

let api: TestBotApi;
const cleanups: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  api = await startTestBotApi({ token: TOKEN, limits: false });
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await api.close();
});

const ids = (updates: Update[]) => updates.map((update) => update.update_id);

describe('update ids', () => {
  it('start from the clock and rise by one, and a restarted server never repeats one', async () => {
    await api.close();
    const before = Date.now();
    api = await startTestBotApi({ token: TOKEN });
    const first = await api.sendText(ALICE, 'one');
    const second = await api.sendText(ALICE, 'two');
    expect(first.updateId).toBeGreaterThanOrEqual(before * 1000);
    expect(first.updateId).toBeLessThanOrEqual(Date.now() * 1000);
    expect(second.updateId).toBe(first.updateId + 1);

    // An immediate restart, as a test or `npm start` does it.
    await api.close();
    api = await startTestBotApi({ token: TOKEN });
    const afterRestart = await api.sendText(ALICE, 'three');
    expect(afterRestart.updateId).toBeGreaterThan(second.updateId);
  });

  it('never go back within a process, even after ids that ran ahead of the clock', async () => {
    const ahead = await startTestBotApi({
      token: TOKEN,
      firstUpdateId: Date.now() * 1000 + 60_000_000,
    });
    const aheadId = (await ahead.sendText(ALICE, 'from the future')).updateId;
    await ahead.close();
    const next = await startTestBotApi({ token: TOKEN });
    cleanups.push(() => next.close());
    const nextId = (await next.sendText(ALICE, 'now')).updateId;
    expect(nextId).toBeGreaterThan(aheadId);
    expect(Number.isSafeInteger(nextId)).toBe(true);
  });

  it('start where firstUpdateId says', async () => {
    const fixed = await startTestBotApi({ token: TOKEN, firstUpdateId: 500 });
    cleanups.push(() => fixed.close());
    expect((await fixed.sendText(ALICE, 'a')).updateId).toBe(500);
    expect((await fixed.sendText(ALICE, 'b')).updateId).toBe(501);
  });
});

describe('getUpdates', () => {
  const getUpdates = (params: Record<string, unknown> = {}) =>
    ok<Update[]>(api, 'getUpdates', params);

  it('returns unconfirmed updates until an offset confirms them', async () => {
    const a = await api.sendText(ALICE, 'a');
    const b = await api.sendText(BOB, 'b');
    expect(ids(await getUpdates())).toEqual([a.updateId, b.updateId]);
    expect(ids(await getUpdates())).toEqual([a.updateId, b.updateId]);
    expect(ids(await getUpdates({ limit: 1 }))).toEqual([a.updateId]);
    expect(ids(await getUpdates({ offset: b.updateId }))).toEqual([b.updateId]);
    // Confirmed updates are gone for good.
    expect(ids(await getUpdates({ offset: 0 }))).toEqual([b.updateId]);
    expect(await getUpdates({ offset: b.updateId + 1 })).toEqual([]);
    expect(await ok(api, 'getWebhookInfo')).toMatchObject({ url: '', pending_update_count: 0 });
  });

  it('keeps only the last -offset updates for a negative offset', async () => {
    await api.sendText(ALICE, 'a');
    await api.sendText(ALICE, 'b');
    const c = await api.sendText(ALICE, 'c');
    expect(ids(await getUpdates({ offset: -1 }))).toEqual([c.updateId]);
    expect(ids(await getUpdates())).toEqual([c.updateId]);
  });

  it('long-polls: answers as soon as an update comes, or with [] after timeout seconds', async () => {
    const started = Date.now();
    const polling = getUpdates({ timeout: 10 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const sent = await api.sendText(ALICE, 'hello');
    expect(ids(await polling)).toEqual([sent.updateId]);
    expect(Date.now() - started).toBeLessThan(2000);

    const quiet = Date.now();
    expect(await getUpdates({ offset: sent.updateId + 1, timeout: 1 })).toEqual([]);
    expect(Date.now() - quiet).toBeGreaterThanOrEqual(950);
  });

  it('ends a long poll with 409 when another one starts, as Telegram does', async () => {
    const first = call(api, 'getUpdates', { timeout: 10 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = getUpdates({ timeout: 10 });
    expect(await first).toEqual({
      status: 409,
      body: {
        ok: false,
        error_code: 409,
        description:
          'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
      },
    });
    const sent = await api.sendText(ALICE, 'hi');
    expect(ids(await second)).toEqual([sent.updateId]);
  });

  it('drops kinds the bot did not ask for, and by default chat_member and reactions', async () => {
    const reaction = await api.deliver({
      message_reaction: {
        chat: { id: ALICE.id, type: 'private', first_name: 'Alice' },
        message_id: 1,
        date: 1,
        old_reaction: [],
        new_reaction: [{ type: 'emoji', emoji: '👍' }],
      },
    });
    expect(reaction.filtered).toBe(true);
    expect(await getUpdates({ allowed_updates: ['callback_query'] })).toEqual([]);
    expect(await api.sendText(ALICE, 'ignored')).toMatchObject({ filtered: true });
    expect(await getUpdates({ allowed_updates: [] })).toEqual([]);
    const message = await api.sendText(ALICE, 'seen');
    expect(ids(await getUpdates())).toEqual([message.updateId]);
    expect(api.updates.get(reaction.updateId)).toBeDefined();
  });

  it('refuses to run while a webhook is set, and a new webhook ends a long poll', async () => {
    const polling = call(api, 'getUpdates', { timeout: 10 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await ok(api, 'setWebhook', { url: 'http://127.0.0.1:9/hook' });
    expect((await polling).body).toMatchObject({
      error_code: 409,
      description: 'Conflict: terminated by setWebhook request',
    });
    expect((await call(api, 'getUpdates')).body).toMatchObject({
      error_code: 409,
      description:
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    });
  });

  it('feeds a grammY bot that long-polls with bot.start()', async () => {
    const bot = new Bot(TOKEN, { client: { apiRoot: api.url } });
    bot.command('start', (ctx) => ctx.reply(`Hello, ${ctx.from?.first_name}`));
    bot.on('message:text', (ctx) => ctx.reply(`You said: ${ctx.message.text}`));
    let running: Promise<void> | undefined;
    await new Promise<void>((started) => {
      running = bot.start({ drop_pending_updates: true, onStart: () => started() });
    });
    cleanups.push(async () => {
      await bot.stop();
      await running;
    });
    await api.sendText(ALICE, '/start');
    await api.sendText(ALICE, 'corn');
    await api.waitForCall((c) => c.method === 'sendMessage' && c.params.text === 'You said: corn');
    expect(api.messages(ALICE.id).map((m) => m.text)).toEqual(['Hello, Alice', 'You said: corn']);
    expect(api.calls.slice(0, 2).map((c) => c.method)).toEqual(['getMe', 'deleteWebhook']);
  });
});

describe('webhooks', () => {
  it('POST each update with the secret token header, and say what the endpoint answered', async () => {
    const receiver = await startReceiver();
    cleanups.push(receiver.close);
    expect(
      await call(api, 'setWebhook', { url: receiver.url, secret_token: 'our-Secret_1' }),
    ).toEqual({
      status: 200,
      body: { ok: true, result: true, description: 'Webhook was set' },
    });
    expect(
      (await call(api, 'setWebhook', { url: receiver.url, secret_token: 'our-Secret_1' })).body,
    ).toMatchObject({
      description: 'Webhook is already set',
    });

    const delivered = await api.sendText(ALICE, '/start');
    expect(delivered).toEqual({ updateId: expect.any(Number) as number, status: 200 });
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]!.headers['x-telegram-bot-api-secret-token']).toBe('our-Secret_1');
    expect(receiver.received[0]!.headers['content-type']).toBe('application/json');
    expect(receiver.received[0]!.update).toEqual(api.updates.get(delivered.updateId));
    expect(await ok(api, 'getWebhookInfo')).toEqual({
      url: receiver.url,
      has_custom_certificate: false,
      pending_update_count: 0,
      max_connections: 40,
      ip_address: '127.0.0.1',
    });
  });

  it('keep an update the endpoint failed on, and redeliver it with the same update_id', async () => {
    let answer = 500;
    const receiver = await startReceiver(() => ({ status: answer }));
    cleanups.push(receiver.close);
    await ok(api, 'setWebhook', { url: receiver.url });

    const failed = await api.sendText(ALICE, 'hi');
    expect(failed.status).toBe(500);
    expect(await ok(api, 'getWebhookInfo')).toMatchObject({
      pending_update_count: 1,
      last_error_date: expect.any(Number) as number,
      last_error_message: 'Wrong response from the webhook: 500 Internal Server Error',
    });

    answer = 200;
    expect(await api.redeliver(failed.updateId)).toEqual({
      updateId: failed.updateId,
      status: 200,
    });
    expect(ids(receiver.received.map((post) => post.update))).toEqual([
      failed.updateId,
      failed.updateId,
    ]);
    expect(await ok(api, 'getWebhookInfo')).toMatchObject({ pending_update_count: 0 });
  });

  it('POST at most max_connections updates at once, the rest in order as connections free up', async () => {
    let open = 0;
    let most = 0;
    const receiver = await startReceiver(async () => {
      open += 1;
      most = Math.max(most, open);
      await new Promise((resolve) => setTimeout(resolve, 50));
      open -= 1;
      return { status: 200 };
    });
    cleanups.push(receiver.close);
    await ok(api, 'setWebhook', { url: receiver.url, max_connections: 2 });
    expect(await ok(api, 'getWebhookInfo')).toMatchObject({ max_connections: 2 });

    const sent = await Promise.all(
      ['a', 'b', 'c', 'd', 'e', 'f'].map((text) => api.sendText(ALICE, text)),
    );
    expect(sent.map((result) => result.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(most).toBe(2);
    // Two connections: neighbours may arrive swapped, but none overtakes an earlier pair.
    const arrived = ids(receiver.received.map((post) => post.update));
    const sentIds = sent.map((result) => result.updateId);
    expect([...arrived].sort()).toEqual([...sentIds].sort());
    for (const [position, id] of sentIds.entries())
      expect(Math.abs(arrived.indexOf(id) - position)).toBeLessThanOrEqual(1);

    // Telegram's default is 40.
    await ok(api, 'setWebhook', { url: receiver.url });
    most = 0;
    await Promise.all(['g', 'h', 'i', 'j', 'k', 'l'].map((text) => api.sendText(ALICE, text)));
    expect(most).toBe(6);
  });

  it('drop what waited for a connection when the webhook is deleted meanwhile', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const receiver = await startReceiver(async () => {
      await held;
      return { status: 200 };
    });
    cleanups.push(receiver.close);
    await ok(api, 'setWebhook', { url: receiver.url, max_connections: 1 });

    const first = api.sendText(ALICE, 'in flight');
    const waiting = api.sendText(ALICE, 'waiting for a connection');
    await eventually(() => (receiver.received.length === 1 ? true : undefined));
    await ok(api, 'deleteWebhook');
    release();

    expect(await first).toMatchObject({ status: 200 });
    expect(await waiting).toMatchObject({ error: 'Webhook changed' });
    expect(receiver.received).toHaveLength(1);
  });

  it('report an endpoint that is not there', async () => {
    const receiver = await startReceiver();
    await receiver.close();
    await ok(api, 'setWebhook', { url: receiver.url });
    expect(await api.sendText(ALICE, 'hi')).toMatchObject({ error: 'Connection refused' });
    expect(await ok(api, 'getWebhookInfo')).toMatchObject({
      last_error_message: 'Connection refused',
    });
  });

  it('get the updates that waited for them, unless set with drop_pending_updates', async () => {
    const waited = await api.sendText(ALICE, 'before the webhook');
    const receiver = await startReceiver();
    cleanups.push(receiver.close);
    await ok(api, 'setWebhook', { url: receiver.url });
    await eventually(() => receiver.received[0]);
    expect(receiver.received[0]!.update.update_id).toBe(waited.updateId);

    await ok(api, 'deleteWebhook');
    await api.sendText(ALICE, 'dropped');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await ok(api, 'setWebhook', { url: receiver.url, drop_pending_updates: true });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.received).toHaveLength(1);
  });

  it('refuse secret tokens Telegram refuses', async () => {
    expect(
      (await call(api, 'setWebhook', { url: 'http://127.0.0.1:9/', secret_token: 'a b' })).body,
    ).toMatchObject({
      description: 'Bad Request: secret token contains unallowed characters',
    });
    expect(
      (await call(api, 'setWebhook', { url: 'http://127.0.0.1:9/', secret_token: 'a'.repeat(257) }))
        .body,
    ).toMatchObject({ description: 'Bad Request: secret token is too long' });
    expect((await call(api, 'setWebhook', { url: 'ftp://x' })).body).toMatchObject({
      description: 'Bad Request: invalid webhook URL specified',
    });
  });

  it('run the method a webhook answers with, as Telegram does', async () => {
    const receiver = await startReceiver((update) => ({
      status: 200,
      body: {
        method: 'sendMessage',
        chat_id: update.message!.chat.id,
        text: 'answered in the reply',
      },
    }));
    cleanups.push(receiver.close);
    await ok(api, 'setWebhook', { url: receiver.url });
    await api.sendText(ALICE, 'hi');
    expect(api.calls.at(-1)).toMatchObject({
      method: 'sendMessage',
      viaWebhookReply: true,
      response: { ok: true },
    });
    expect(api.messages(ALICE.id).map((m) => m.text)).toEqual(['answered in the reply']);
  });

  it('drive a grammY bot through its webhookCallback: a command, a button, an edit', async () => {
    const bot = new Bot(TOKEN, { client: { apiRoot: api.url }, botInfo: api.botInfo });
    const keyboard = new InlineKeyboard().text('🌽 Plant corn', 'plant:corn');
    bot.command('start', (ctx) =>
      ctx.reply('<b>Your farm</b>: 3 empty plots', { parse_mode: 'HTML', reply_markup: keyboard }),
    );
    bot.callbackQuery(/^plant:(.+)$/, async (ctx) => {
      await ctx.answerCallbackQuery({ text: 'Planted!' });
      await ctx.editMessageText(`Planted ${ctx.match[1]}`);
    });
    const app = fastify();
    app.post('/telegram', webhookCallback(bot, 'fastify', { secretToken: 'farm-secret' }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => app.close());
    const webhook = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/telegram`;
    await bot.api.setWebhook(webhook, { secret_token: 'farm-secret' });

    expect((await api.sendText(ALICE, '/start')).status).toBe(200);
    const [shown] = api.messages(ALICE.id);
    expect(shown).toMatchObject({
      text: 'Your farm: 3 empty plots',
      reply_markup: { inline_keyboard: [[{ text: '🌽 Plant corn', callback_data: 'plant:corn' }]] },
    });

    expect(
      (
        await api.pressButton(
          ALICE,
          { chat_id: ALICE.id, message_id: shown!.message_id },
          'plant:corn',
        )
      ).status,
    ).toBe(200);
    expect(api.messages(ALICE.id)).toMatchObject([
      { text: 'Planted corn', edit_date: expect.any(Number) as number },
    ]);
    expect(api.messages(ALICE.id)[0]!.reply_markup).toBeUndefined();
    expect(api.calls.find((c) => c.method === 'answerCallbackQuery')).toMatchObject({
      params: { text: 'Planted!' },
      response: { ok: true, result: true },
    });

    // A webhook set with another secret is refused by the bot; Telegram keeps the update.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await bot.api.setWebhook(webhook, { secret_token: 'stale-secret' });
    expect((await api.sendText(ALICE, '/start')).status).toBe(401);
  });
});
