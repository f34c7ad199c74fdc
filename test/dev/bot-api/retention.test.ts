/**
 * What the local Bot API server and the web chat's player side keep in memory: tests keep the
 * whole recording by default; `npm start`'s server (dev/start/telegram.ts), which may run for days,
 * keeps the newest part within fixed bounds and drops the oldest first.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../infra/config';
import {
  LOCAL_MAX_PLAYERS,
  LOCAL_RETENTION,
  startLocalTelegram,
} from '../../../dev/start/telegram';
import { startTestBotApi, type TestBotApi } from '../../../dev/bot-api';
import { createPlayerApi } from '../../../dev/bot-api/player-api';
import { call, ok, TOKEN } from './helpers';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(options: Parameters<typeof startTestBotApi>[0]): Promise<TestBotApi> {
  const api = await startTestBotApi(options);
  cleanups.push(() => api.close());
  return api;
}

const user = (id: number) => ({ id, first_name: `User ${id}` });

describe('a test server', () => {
  it('keeps every update, chat, message and call by default', async () => {
    const api = await server({ token: TOKEN, limits: false });
    for (let i = 0; i < 300; i++) await api.sendText(user(1 + (i % 150)), `hello ${i}`);
    for (let i = 0; i < 300; i++) await ok(api, 'sendMessage', { chat_id: 1, text: `reply ${i}` });

    expect(api.updates.size).toBe(300);
    expect(api.calls).toHaveLength(300);
    expect(api.userMessages(1)).toHaveLength(2);
    expect(api.messages(1)).toHaveLength(300);
    expect(api.userMessages(150)).toHaveLength(2);
  });
});

describe('a server with retention limits', () => {
  it('keeps the newest updates', async () => {
    const api = await server({ token: TOKEN, limits: false, retention: { updates: 4 } });
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push((await api.sendText(user(1), `hello ${i}`)).updateId);
    expect([...api.updates.keys()]).toEqual(ids.slice(2));
    // Waiting for a bot that never asked: the oldest pending ones went too.
    const pending = await ok<{ update_id: number }[]>(api, 'getUpdates', { timeout: 0 });
    expect(pending.map((update) => update.update_id)).toEqual(ids.slice(2));
  });

  it('keeps the newest calls', async () => {
    const api = await server({
      token: TOKEN,
      limits: false,
      acceptUnknownChats: true,
      retention: { calls: 5 },
    });
    for (let i = 0; i < 8; i++) await ok(api, 'sendMessage', { chat_id: 7, text: `reply ${i}` });
    expect(api.calls.map((c) => c.params.text)).toEqual([3, 4, 5, 6, 7].map((i) => `reply ${i}`));
    // A waiter still finds a call made after the oldest were dropped.
    const next = api.waitForCall((c) => c.params.text === 'reply 8');
    await ok(api, 'sendMessage', { chat_id: 7, text: 'reply 8' });
    expect((await next).params.chat_id).toBe(7);
  });

  it('keeps the chats with the most recent activity, and the newest messages of each', async () => {
    const api = await server({
      token: TOKEN,
      limits: false,
      retention: { chats: 2, messagesPerChat: 3 },
    });
    await api.sendText(user(1), 'one');
    await api.sendText(user(2), 'two');
    await ok(api, 'sendMessage', { chat_id: 1, text: 'the bot writes to 1' }); // 1 is active again
    await api.sendText(user(3), 'three');
    expect(api.userMessages(1).map((m) => m.text)).toEqual(['one']);
    expect(api.userMessages(2)).toEqual([]);
    expect(api.userMessages(3).map((m) => m.text)).toEqual(['three']);
    // A forgotten chat is unknown again, as Telegram has it for a chat that never met the bot.
    const { body } = await call(api, 'sendMessage', { chat_id: 2, text: 'hello?' });
    expect(body).toMatchObject({ ok: false, description: 'Bad Request: chat not found' });

    for (let i = 0; i < 4; i++) await ok(api, 'sendMessage', { chat_id: 3, text: `reply ${i}` });
    // Users and the bot share a chat's messages: the user's 'three' was the oldest.
    expect(api.userMessages(3)).toEqual([]);
    expect(api.messages(3).map((m) => m.text)).toEqual(['reply 1', 'reply 2', 'reply 3']);
  });

  it('forgets button presses never answered, with old updates', async () => {
    const api = await server({ token: TOKEN, limits: false, retention: { updates: 2 } });
    await api.sendText(user(1), '/start');
    const sent = await ok<{ message_id: number }>(api, 'sendMessage', {
      chat_id: 1,
      text: 'press me',
      reply_markup: { inline_keyboard: [[{ text: 'Go', callback_data: 'go' }]] },
    });
    for (let i = 0; i < 3; i++) {
      await api.pressButton(user(1), { chat_id: 1, message_id: sent.message_id }, 'go');
    }
    const queries = [...api.updates.values()].map((update) => update.callback_query!.id);
    expect(queries).toHaveLength(2);
    const answers = [];
    for (const id of ['', ...queries]) {
      const { body } = await call(api, 'answerCallbackQuery', { callback_query_id: id });
      answers.push(body.ok);
    }
    expect(answers).toEqual([false, true, true]);
    const first = `${api.botInfo.id}${'1'.padStart(9, '0')}`;
    const { body } = await call(api, 'answerCallbackQuery', { callback_query_id: first });
    expect(body.ok).toBe(false);
    expect(!body.ok && body.description).toMatch(/query is too old/);
  });
});

describe("the web chat's player side", () => {
  it('keeps the chat state of the players seen most recently', async () => {
    const api = await server({ token: TOKEN, limits: false });
    const players = createPlayerApi(api, { maxPlayers: 2, redeliveryDelaysMs: [] });
    cleanups.push(() => players.close());
    const fresh = (await players.chat(1)).version;
    await players.send({ id: 1, name: 'One' }, 'hello');
    const changed = (await players.chat(1)).version;
    expect(changed).toBeGreaterThan(fresh);

    await players.chat(2);
    expect((await players.chat(1)).version).toBe(changed); // 1 is the most recent now
    await players.chat(2);
    await players.chat(3);
    // Player 1 was seen least recently: forgotten, its page gets the chat afresh.
    expect((await players.chat(1)).version).toBe(fresh);
    expect((await players.chat(1)).messages.map((m) => m.text)).toEqual(['hello']);
  });
});

describe('the local server `npm start` runs', () => {
  it('is bounded: updates, chats, messages and players', async () => {
    const local = await startLocalTelegram(
      parseConfig({ USER_HASH_SECRET: 'retention-test-secret-0123456789' }),
    );
    cleanups.push(() => local.close());
    const { api, players } = local;
    const first = user(1_000_000);
    await api.sendText(first, 'the first chat');
    // Every other chat is more recently active than the first.
    for (let id = 1; id <= LOCAL_RETENTION.chats; id++) await api.sendText(user(id), 'hi');
    expect(api.userMessages(first.id)).toEqual([]);
    expect(api.userMessages(1)).toHaveLength(1);

    // One chat past its message limit and the server past its update limit.
    const more = LOCAL_RETENTION.updates - LOCAL_RETENTION.chats + 10;
    for (let i = 0; i < more; i++) await api.sendText(user(1), `message ${i}`);
    expect(api.updates.size).toBe(LOCAL_RETENTION.updates);
    const kept = api.userMessages(1);
    expect(kept).toHaveLength(LOCAL_RETENTION.messagesPerChat);
    expect(kept.at(-1)?.text).toBe(`message ${more - 1}`);

    const fresh = (await players.chat(first.id)).version;
    await players.send({ id: first.id, name: 'First' }, 'back again');
    expect((await players.chat(first.id)).version).toBeGreaterThan(fresh);
    for (let id = 1; id <= LOCAL_MAX_PLAYERS; id++) await players.chat(id);
    expect((await players.chat(first.id)).version).toBe(fresh);
  });
});
