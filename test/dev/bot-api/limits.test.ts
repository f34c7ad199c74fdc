import { Bot, GrammyError } from 'grammy';
import { afterEach, describe, expect, it } from 'vitest';
import { type TestBotApi, startTestBotApi } from '../../../dev/bot-api';
import { SendLimiter, TELEGRAM_LIMITS } from '../../../dev/bot-api/limits';
import { ALICE, BOB, TOKEN, call } from './helpers';

describe('SendLimiter', () => {
  function limiterAt(limits = TELEGRAM_LIMITS) {
    const clock = { now: 1_000_000 };
    return { clock, limiter: new SendLimiter(limits, () => clock.now) };
  }

  it('lets a chat burst, then one message a second', () => {
    const { clock, limiter } = limiterAt();
    expect([1, 2, 3].map(() => limiter.take(ALICE.id))).toEqual([0, 0, 0]);
    expect(limiter.take(ALICE.id)).toBe(1);
    clock.now += 999;
    expect(limiter.take(ALICE.id)).toBe(1);
    clock.now += 1;
    expect(limiter.take(ALICE.id)).toBe(0);
    expect(limiter.take(ALICE.id)).toBe(1);
    // Other chats have their own buckets.
    expect(limiter.take(BOB.id)).toBe(0);
  });

  it('lets a group have 20 messages in any minute', () => {
    const { clock, limiter } = limiterAt({
      ...TELEGRAM_LIMITS,
      perChatPerSecond: 100,
      perChatBurst: 100,
    });
    for (let i = 0; i < 20; i++) {
      expect(limiter.take(-5001)).toBe(0);
      clock.now += 1000;
    }
    // The first of the 20 leaves the window 60 s after it was sent, 40 s from now.
    expect(limiter.take(-5001)).toBe(40);
    clock.now += 40_000;
    expect(limiter.take(-5001)).toBe(0);
    // Private chats have no per-minute limit.
    for (let i = 0; i < 25; i++) expect(limiter.take(i + 1)).toBe(0);
  });

  it('lets the bot send 30 messages a second over all chats', () => {
    const { clock, limiter } = limiterAt();
    for (let chat = 1; chat <= 30; chat++) expect(limiter.take(chat)).toBe(0);
    expect(limiter.take(31)).toBe(1);
    clock.now += 1000;
    expect(limiter.take(31)).toBe(0);
  });

  it('counts nothing for a refused send', () => {
    const { clock, limiter } = limiterAt({ ...TELEGRAM_LIMITS, perChatBurst: 1 });
    expect(limiter.take(ALICE.id)).toBe(0);
    for (let i = 0; i < 10; i++) expect(limiter.take(ALICE.id)).toBe(1);
    clock.now += 1000;
    expect(limiter.take(ALICE.id)).toBe(0);
  });
});

describe('the server under flood limits', () => {
  let api: TestBotApi;
  afterEach(async () => {
    await api.close();
  });

  async function startWith(limits: Parameters<typeof startTestBotApi>[0]['limits']) {
    api = await startTestBotApi({ token: TOKEN, limits });
    return new Bot(TOKEN, { client: { apiRoot: api.url }, botInfo: api.botInfo });
  }

  it('answers 429 with retry_after, exactly as Telegram words it, and lets the bot go on after it', async () => {
    const bot = await startWith({ perChatBurst: 2 });
    await api.sendText(ALICE, '/start');
    await bot.api.sendMessage(ALICE.id, 'one');
    await bot.api.sendMessage(ALICE.id, 'two');
    const error = await bot.api.sendMessage(ALICE.id, 'three').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GrammyError);
    expect(error).toMatchObject({
      error_code: 429,
      description: 'Too Many Requests: retry after 1',
      parameters: { retry_after: 1 },
    });
    expect(api.calls.at(-1)!.response).toEqual({
      ok: false,
      error_code: 429,
      description: 'Too Many Requests: retry after 1',
      parameters: { retry_after: 1 },
    });
    expect(api.messages(ALICE.id).map((m) => m.text)).toEqual(['one', 'two']);

    await new Promise((resolve) =>
      setTimeout(resolve, (error as GrammyError).parameters.retry_after! * 1000),
    );
    await expect(bot.api.sendMessage(ALICE.id, 'three')).resolves.toMatchObject({ text: 'three' });
  });

  it('counts no edits or callback answers in a private chat', async () => {
    const bot = await startWith({ perChatBurst: 1 });
    await api.sendText(ALICE, '/start');
    const sent = await bot.api.sendMessage(ALICE.id, 'Farm', {
      reply_markup: { inline_keyboard: [[{ text: 'Plant', callback_data: 'plant' }]] },
    });
    const { updateId } = await api.pressButton(
      ALICE,
      { chat_id: ALICE.id, message_id: sent.message_id },
      'plant',
    );
    for (let i = 0; i < 5; i++)
      await bot.api.editMessageText(ALICE.id, sent.message_id, `Farm ${i}`);
    await expect(
      bot.api.answerCallbackQuery(api.updates.get(updateId)!.callback_query!.id),
    ).resolves.toBe(true);
    await expect(bot.api.sendMessage(ALICE.id, 'more')).rejects.toMatchObject({ error_code: 429 });
  });

  it('counts edits in groups against the per-minute limit', async () => {
    const bot = await startWith({ perChatBurst: 10, perGroupPerMinute: 2 });
    await api.sendText(BOB, 'hi', { id: -5001, title: 'Farmers' });
    const sent = await bot.api.sendMessage(-5001, 'Fair at 17:00');
    await bot.api.editMessageText(-5001, sent.message_id, 'Fair at 18:00');
    const error = await bot.api
      .editMessageText(-5001, sent.message_id, 'Fair at 19:00')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ error_code: 429, parameters: { retry_after: 60 } });
    expect(api.messages(-5001)[0]!.text).toBe('Fair at 18:00');
  });

  it('takes one new webhook a second', async () => {
    await startWith({});
    expect((await call(api, 'setWebhook', { url: 'http://127.0.0.1:9/a' })).status).toBe(200);
    expect(await call(api, 'setWebhook', { url: 'http://127.0.0.1:9/b' })).toMatchObject({
      status: 429,
      body: { description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } },
    });
  });

  it('limits nothing with limits: false', async () => {
    const bot = await startWith(false);
    await api.sendText(BOB, 'hi', { id: -5001 });
    for (let i = 0; i < 40; i++) await bot.api.sendMessage(-5001, `message ${i}`);
    expect(api.messages(-5001)).toHaveLength(40);
  });
});
