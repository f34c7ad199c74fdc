/**
 * The web chat's JSON API (the fastify plugin, through app.inject) and the player API under it
 * (dev/bot-api/player-api.ts, against a real local Bot API server and a stub webhook).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fastify, { type FastifyInstance } from 'fastify';
import { Api, InputFile } from 'grammy';
import type { Message } from 'grammy/types';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestBotApi, type TestBotApi } from '../../../dev/bot-api';
import {
  type ChatView,
  createPlayerApi,
  GoneError,
  MAX_PLAYER_ID,
  type PlayerApi,
} from '../../../dev/bot-api/player-api';
import { webChatRoutes } from '../../../dev/web-chat/plugin';
import { png } from '../bot-api/helpers';

describe('the web chat routes', () => {
  const sent: { id: number; name: string; text: string }[] = [];
  const picture = png(4, 3);
  let waiting: AbortSignal | undefined;
  const players: PlayerApi = {
    send: async (player, text) => {
      sent.push({ ...player, text });
      return { updateId: 1, delivered: true };
    },
    press: async () => {
      throw new GoneError('The chat no longer shows that button');
    },
    chat: async (_id, { after, signal } = {}): Promise<ChatView> => {
      if (after === 7) {
        waiting = signal;
        await new Promise((resolve) => signal?.addEventListener('abort', resolve));
      }
      return { version: 7, messages: [], notices: [] };
    },
    photo: (id, fileId) =>
      id === 1 && fileId === 'AgAC-photo_1'
        ? { bytes: picture, contentType: 'image/png' }
        : undefined,
    close: () => undefined,
  };
  let app: FastifyInstance;
  beforeAll(async () => {
    app = fastify();
    await app.register(webChatRoutes, { players });
  });
  afterAll(() => app.close());

  const send = (body: object) => app.inject({ method: 'POST', url: '/play/api/send', body });

  it('serves the page, its script and its style, under a strict content policy', async () => {
    for (const [url, type] of [
      ['/', 'text/html'],
      ['/play/app.mjs', 'text/javascript'],
      ['/play/style.css', 'text/css'],
    ] as const) {
      const response = await app.inject({ url });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toContain(type);
      expect(response.headers['content-security-policy']).toContain("default-src 'none'");
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    }
    expect((await app.inject({ url: '/' })).body).toContain('src="/play/app.mjs"');
  });

  it('passes a valid message on, up to 4096 characters', async () => {
    const text = 'x'.repeat(4096);
    const response = await send({ userId: MAX_PLAYER_ID, name: ' Ann ', text });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ updateId: 1, delivered: true });
    expect(sent.at(-1)).toEqual({ id: MAX_PLAYER_ID, name: 'Ann', text });
  });

  it.each([
    ['a user id of 0', { userId: 0, name: 'A', text: 'hi' }],
    ['a negative user id', { userId: -5, name: 'A', text: 'hi' }],
    ['a user id past the range', { userId: MAX_PLAYER_ID + 1, name: 'A', text: 'hi' }],
    ['a fractional user id', { userId: 1.5, name: 'A', text: 'hi' }],
    ['a user id as words', { userId: 'one', name: 'A', text: 'hi' }],
    ['an empty text', { userId: 1, name: 'A', text: '' }],
    ['a text of only spaces', { userId: 1, name: 'A', text: ' \n ' }],
    ['a text of 4097 characters', { userId: 1, name: 'A', text: 'x'.repeat(4097) }],
    ['no name', { userId: 1, text: 'hi' }],
    ['a name of 65 characters', { userId: 1, name: 'n'.repeat(65), text: 'hi' }],
  ])('refuses %s with 400', async (_case, body) => {
    const before = sent.length;
    expect((await send(body)).statusCode).toBe(400);
    expect(sent.length).toBe(before);
  });

  it('answers 409 to a press on a button the chat no longer shows, 400 to bad press data', async () => {
    const press = (body: object) => app.inject({ method: 'POST', url: '/play/api/press', body });
    const gone = await press({ userId: 1, name: 'A', messageId: 3, data: '1:f' });
    expect(gone.statusCode).toBe(409);
    expect(gone.json()).toEqual({ error: 'The chat no longer shows that button' });
    expect((await press({ userId: 1, name: 'A', messageId: 0, data: '1:f' })).statusCode).toBe(400);
    expect(
      (await press({ userId: 1, name: 'A', messageId: 3, data: 'd'.repeat(65) })).statusCode,
    ).toBe(400);
  });

  it("serves a photo the player's chat shows, for the browser to keep, and no other", async () => {
    const photo = await app.inject({ url: '/play/api/photo/1/AgAC-photo_1' });
    expect(photo.statusCode).toBe(200);
    expect(photo.headers['content-type']).toBe('image/png');
    expect(photo.headers['cache-control']).toBe('private, max-age=31536000, immutable');
    expect(photo.headers['content-security-policy']).toContain("default-src 'none'");
    expect(photo.rawPayload).toEqual(picture);

    const other = await app.inject({ url: '/play/api/photo/2/AgAC-photo_1' });
    expect(other.statusCode).toBe(404);
    expect(other.json()).toEqual({ error: 'The chat shows no such photo' });
    expect((await app.inject({ url: '/play/api/photo/1/a.b' })).statusCode).toBe(400);
    expect((await app.inject({ url: '/play/api/photo/0/AgAC-photo_1' })).statusCode).toBe(400);
  });

  it('validates the chat request, and ends a waiting long poll when the server closes', async () => {
    expect((await app.inject({ url: '/play/api/chat/abc' })).statusCode).toBe(400);
    expect((await app.inject({ url: '/play/api/chat/1?after=-1' })).statusCode).toBe(400);
    const now = await app.inject({ url: '/play/api/chat/1' });
    expect(now.json()).toEqual({ version: 7, messages: [], notices: [] });
    expect(now.headers['cache-control']).toBe('no-store');

    const other = fastify();
    await other.register(webChatRoutes, { players });
    const polling = other.inject({ url: '/play/api/chat/1?after=7' });
    await expect.poll(() => waiting).toBeDefined();
    const started = Date.now();
    await other.close();
    expect((await polling).statusCode).toBe(200);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('the player API over the local Bot API server', () => {
  const TOKEN = '4242:player-api-test-token';
  const ann = { id: 1_000_000_123, name: 'Ann' };
  let api: TestBotApi;
  let players: PlayerApi;
  let webhook: Server;
  /** What the stub webhook answers next (then 200). */
  const answers: number[] = [];
  let received = 0;

  const callAsBot = async (method: string, params: Record<string, unknown>) => {
    const response = await fetch(`${api.url}/bot${TOKEN}/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(params),
    });
    return ((await response.json()) as { result: unknown }).result;
  };

  beforeAll(async () => {
    webhook = createServer((request, response) => {
      request.resume();
      received += 1;
      response.writeHead(answers.shift() ?? 200).end('{}');
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    api = await startTestBotApi({ token: TOKEN, acceptUnknownChats: true });
    players = createPlayerApi(api, { redeliveryDelaysMs: [20, 20] });
    const { port } = webhook.address() as AddressInfo;
    await callAsBot('setWebhook', { url: `http://127.0.0.1:${port}/hook` });
  });
  afterEach(() => {
    answers.length = 0;
  });
  afterAll(async () => {
    players.close();
    await api.close();
    await new Promise((resolve) => webhook.close(resolve));
  });

  it("shows the player's messages and the bot's, in order, and wakes a waiting page on a change", async () => {
    const delivery = await players.send(ann, '/start');
    expect(delivery.delivered).toBe(true);
    const first = await players.chat(ann.id);
    expect(first.messages.map((m) => [m.from, m.text])).toEqual([['player', '/start']]);
    expect(first.messages[0]!.entities).toEqual([{ type: 'bot_command', offset: 0, length: 6 }]);

    const waiting = players.chat(ann.id, { after: first.version, waitMs: 5000 });
    await callAsBot('sendMessage', {
      chat_id: ann.id,
      text: '<b>Hi</b> Ann',
      parse_mode: 'HTML',
      reply_markup: {
        inline_keyboard: [
          [
            { text: 'Go', callback_data: 'go' },
            { text: 'Web', url: 'https://a.example/' },
          ],
        ],
      },
    });
    const next = await waiting;
    expect(next.version).toBeGreaterThan(first.version);
    expect(next.messages.at(-1)).toMatchObject({
      from: 'bot',
      text: 'Hi Ann',
      entities: [{ type: 'bold', offset: 0, length: 2 }],
      keyboard: [
        [
          { text: 'Go', data: 'go' },
          { text: 'Web', url: 'https://a.example/' },
        ],
      ],
      edited: false,
    });
  });

  it('turns callback answers into notices, for the presser only and only after the version asked about', async () => {
    const before = await players.chat(ann.id);
    const message = before.messages.at(-1)!;
    await players.press(ann, message.messageId, 'go');
    const query = [...api.updates.values()].at(-1)!.callback_query!;
    await callAsBot('answerCallbackQuery', {
      callback_query_id: query.id,
      text: 'Done!',
      show_alert: true,
    });
    const after = await players.chat(ann.id, { after: before.version });
    expect(after.notices).toEqual([
      { version: after.version, kind: 'answer', text: 'Done!', alert: true },
    ]);
    expect((await players.chat(ann.id)).notices).toEqual([]);
    expect((await players.chat(1_000_000_999, { after: 0 })).notices).toEqual([]);

    await expect(players.press(ann, message.messageId, 'nope')).rejects.toThrow(GoneError);
    await expect(players.press(ann, 999, 'go')).rejects.toThrow(GoneError);
  });

  it('replaces a text message edited into a photo, and serves the picture through the page API', async () => {
    const spinner = (await callAsBot('sendMessage', {
      chat_id: ann.id,
      text: 'Preparing your report…',
    })) as Message;
    const before = await players.chat(ann.id);
    const waiting = players.chat(ann.id, { after: before.version, waitMs: 5000 });
    const bytes = png(480, 270);
    const bot = new Api(TOKEN, { apiRoot: api.url });
    const edited = (await bot.editMessageMedia(ann.id, spinner.message_id, {
      type: 'photo',
      media: new InputFile(bytes, 'report.png'),
      caption: '<b>Your farm</b>',
      parse_mode: 'HTML',
    })) as Message;
    const fileId = edited.photo![0]!.file_id;

    const after = await waiting;
    expect(after.version).toBeGreaterThan(before.version);
    const shown = after.messages.filter((m) => m.messageId === spinner.message_id);
    expect(shown).toEqual([
      {
        messageId: spinner.message_id,
        from: 'bot',
        photo: { fileId, width: 480, height: 270 },
        text: 'Your farm',
        entities: [{ type: 'bold', offset: 0, length: 9 }],
        keyboard: [],
        date: spinner.date,
        edited: true,
      },
    ]);
    expect(after.messages.some((m) => m.text === 'Preparing your report…')).toBe(false);
    expect(players.photo(ann.id, fileId)).toEqual({ bytes, contentType: 'image/png' });
    expect(players.photo(1_000_000_999, fileId)).toBeUndefined();

    // The page's API carries the photo in the chat view and serves its bytes.
    const page = fastify();
    await page.register(webChatRoutes, { players });
    try {
      const view = await page.inject({ url: `/play/api/chat/${ann.id}` });
      expect(
        view.json<ChatView>().messages.find((m) => m.messageId === spinner.message_id)?.photo,
      ).toEqual({ fileId, width: 480, height: 270 });
      const photo = await page.inject({ url: `/play/api/photo/${ann.id}/${fileId}` });
      expect(photo.headers['content-type']).toBe('image/png');
      expect(photo.rawPayload).toEqual(bytes);
    } finally {
      await page.close();
    }
  });

  it('answers at once to a version from before a restart', async () => {
    const started = Date.now();
    const view = await players.chat(ann.id, { after: 1, waitMs: 5000 });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(view.messages.length).toBeGreaterThan(0);
    expect(view.notices).toEqual([]);
  });

  it('delivers an update the webhook refused again, as Telegram does, and says so', async () => {
    const before = await players.chat(ann.id);
    answers.push(503);
    const receivedBefore = received;
    const delivery = await players.send(ann, 'hello?');
    expect(delivery.delivered).toBe(false);
    await expect.poll(() => received - receivedBefore).toBe(2);
    const view = await players.chat(ann.id, { after: before.version });
    expect(view.notices.map((notice) => notice.kind)).toEqual(['delivery']);
    expect(view.notices[0]!.text).toMatch(/did not take your last action \(HTTP 503\)/);
    expect(api.updates.get(delivery.updateId)?.message?.text).toBe('hello?');
  });
});
