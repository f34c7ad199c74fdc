/**
 * Outgoing calls against the local test Bot API server, which enforces Telegram's flood limits
 * and answers 429 with retry_after as Telegram does, and a real Redis that holds the shared
 * budgets. Limits are scaled down or up so that each case runs in about a second.
 */
import { randomUUID } from 'node:crypto';
import { Bot, GrammyError } from 'grammy';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { installOutgoing, type OutgoingLimits, pacedChat } from '../../bot/outgoing';
import { createLogger } from '../../infra/logging';
import { connectRedis, type RedisClient } from '../../store/redis';
import {
  type RateLimits,
  type RecordedCall,
  startTestBotApi,
  type TestBotApi,
} from '../../dev/bot-api';
import { REDIS_URL } from '../support/constants';

const TOKEN = '424242424:AAF_outgoing-test-token';
const RUN_PREFIX = `farmflow-test-outgoing:${randomUUID()}:`;

/** Telegram's limits scaled up ten times in rate: a burst of two, then one per 200 ms. */
const FAST_CHAT: RateLimits = {
  perChatPerSecond: 5,
  perChatBurst: 2,
  perGroupPerMinute: 20,
  globalPerSecond: 30,
};

let redis: RedisClient;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  redis = await connectRedis(REDIS_URL, createLogger('silent'));
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  for await (const keys of redis.scanIterator({ MATCH: `${RUN_PREFIX}*`, COUNT: 1000 })) {
    const batch = [keys].flat();
    if (batch.length > 0) await redis.del(batch);
  }
  await redis.close();
});

interface Setup {
  server: TestBotApi;
  /** One Bot per "process"; all share the key prefix, so they share the global budget. */
  bots: Bot[];
  logLines: string[];
  keyPrefix: string;
}

let caseCount = 0;

async function setup(options: {
  server: Partial<RateLimits> | false;
  client: Partial<OutgoingLimits>;
  processes?: number;
  onBlocked?: (chatId: number) => Promise<void>;
}): Promise<Setup> {
  const server = await startTestBotApi({
    token: TOKEN,
    limits: options.server,
    acceptUnknownChats: true,
    port: 0,
  });
  cleanups.push(() => server.close());
  const logLines: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void logLines.push(line) });
  const keyPrefix = `${RUN_PREFIX}${++caseCount}:`;
  const bots = Array.from({ length: options.processes ?? 1 }, () => {
    const bot = new Bot(TOKEN, { client: { apiRoot: server.url }, botInfo: server.botInfo });
    installOutgoing(bot.api, {
      redis,
      keyPrefix,
      logger,
      limits: options.client,
      ...(options.onBlocked && { onBlocked: options.onBlocked }),
    });
    return bot;
  });
  // A first request pays for the connection and the server's first handling; a running bot
  // has paid long before, so the cases measure warm calls.
  for (const bot of bots) await bot.api.getMe();
  return { server, bots, logLines, keyPrefix };
}

const sends = (server: TestBotApi, chatId?: number) =>
  server.calls.filter(
    (call) =>
      call.method === 'sendMessage' && (chatId === undefined || call.params.chat_id === chatId),
  );
const refused = (calls: RecordedCall[]) => calls.filter((call) => !call.response.ok);
const times = (calls: RecordedCall[]) => calls.map((call) => call.at);

describe('which calls count against the limits', () => {
  it('sends always, edits only in groups, everything else never', () => {
    expect(pacedChat('sendMessage', { chat_id: 5, text: 'x' })).toBe(5);
    expect(pacedChat('sendMediaGroup', { chat_id: '-100123', media: [] })).toBe(-100123);
    expect(pacedChat('forwardMessages', { chat_id: '@channel' })).toBe('@channel');
    expect(pacedChat('editMessageText', { chat_id: 5, message_id: 1, text: 'x' })).toBeUndefined();
    expect(pacedChat('editMessageText', { chat_id: -5, message_id: 1, text: 'x' })).toBe(-5);
    expect(pacedChat('editMessageText', { inline_message_id: 'abc', text: 'x' })).toBeUndefined();
    expect(pacedChat('answerCallbackQuery', { callback_query_id: '1' })).toBeUndefined();
    expect(pacedChat('deleteMessage', { chat_id: 5, message_id: 1 })).toBeUndefined();
    expect(pacedChat('getUpdates', { offset: 0 })).toBeUndefined();
  });
});

describe('pacing under the limits the server enforces', () => {
  it('spreads a burst to one chat after its first sends, in order, without a 429', async () => {
    const { server, bots } = await setup({ server: FAST_CHAT, client: FAST_CHAT });
    const chat = 2001;
    const texts = Array.from({ length: 10 }, (_, i) => `message ${i}`);
    await Promise.all(texts.map((text) => bots[0]!.api.sendMessage(chat, text)));

    const calls = sends(server, chat);
    expect(refused(calls)).toEqual([]);
    expect(calls.map((call) => call.params.text)).toEqual(texts);
    const at = times(calls);
    // After the burst, one per interval: the server's token bucket saw no refusal, so each send
    // had a token; eight sends after a burst of two need at least eight refills.
    expect(at[9]! - at[0]!).toBeGreaterThanOrEqual(8 * 200 - 5);
  });

  it('sends the burst at once and paces only what comes after it', async () => {
    // One send per 3 s after a burst of two: a wide gap between "at once" and "paced", so that
    // a busy machine cannot blur the two.
    const slow = { ...FAST_CHAT, perChatPerSecond: 1 / 3, perChatBurst: 2 };
    const { server, bots } = await setup({ server: slow, client: slow });
    const chat = 2051;
    await Promise.all([0, 1, 2].map((i) => bots[0]!.api.sendMessage(chat, `message ${i}`)));

    const calls = sends(server, chat);
    expect(refused(calls)).toEqual([]);
    const at = times(calls);
    expect(at[1]! - at[0]!).toBeLessThan(1500);
    expect(at[2]! - at[0]!).toBeGreaterThanOrEqual(3000 - 5);
  });

  it('does not slow other chats down while one chat is busy', async () => {
    const { server, bots } = await setup({ server: FAST_CHAT, client: FAST_CHAT });
    const busy = 2101;
    const others = [2102, 2103, 2104];
    const busySends = Array.from({ length: 3 }, (_, i) =>
      bots[0]!.api.sendMessage(busy, `busy ${i}`),
    );
    // Issued after the whole busy queue, yet none waits behind it.
    const otherSends = others.map((chat) => bots[0]!.api.sendMessage(chat, 'hello'));
    await Promise.all([...busySends, ...otherSends]);

    expect(refused(sends(server))).toEqual([]);
    const busyCalls = sends(server, busy);
    const thirdBusySend = busyCalls[2]!.at;
    for (const chat of others) {
      expect(sends(server, chat)[0]!.at).toBeLessThan(thirdBusySend);
    }
  });

  it('shares the global budget between two bot processes through Redis', async () => {
    const limits = { ...FAST_CHAT, globalPerSecond: 5 };
    const { server, bots } = await setup({ server: limits, client: limits, processes: 2 });
    // Each process alone stays within 5 a second; together they send 10, one per chat.
    await Promise.all(
      bots.flatMap((bot, process) =>
        Array.from({ length: 5 }, (_, i) => bot.api.sendMessage(3000 + process * 10 + i, 'news')),
      ),
    );

    const calls = sends(server);
    expect(calls).toHaveLength(10);
    expect(refused(calls)).toEqual([]);
    // The server allows 5 in any second: the sixth came a second after the first.
    const at = times(calls).sort((a, b) => a - b);
    expect(at[5]! - at[0]!).toBeGreaterThanOrEqual(1000);
  });

  it('does not pace edits in private chats', async () => {
    const slow = { ...FAST_CHAT, perChatPerSecond: 1, perChatBurst: 1 };
    const { server, bots, keyPrefix } = await setup({ server: slow, client: slow });
    const api = bots[0]!.api;
    const chat = 4001;
    const sent = await api.sendMessage(chat, 'crop 0%');
    const chatKeysBefore = await redis.keys(`${keyPrefix}*`);
    for (let step = 1; step <= 5; step++) {
      await api.editMessageText(chat, sent.message_id, `crop ${step * 20}%`);
    }

    const edits = server.calls.filter((call) => call.method === 'editMessageText');
    expect(refused(edits)).toEqual([]);
    // Paced at one a second, five edits would take four seconds or more.
    const at = times(edits);
    expect(at[4]! - at[0]!).toBeLessThan(3000);
    expect(server.messages(chat).at(-1)?.text).toBe('crop 100%');
    // And they consumed no budget: no key beyond the send's was written.
    expect((await redis.keys(`${keyPrefix}*`)).sort()).toEqual(chatKeysBefore.sort());
  });

  it('paces edits in groups, which Telegram counts', async () => {
    const slow = { ...FAST_CHAT, perChatBurst: 1 };
    const { server, bots } = await setup({ server: slow, client: slow });
    const api = bots[0]!.api;
    const group = -5001;
    const sent = await api.sendMessage(group, 'round 0');
    for (let round = 1; round <= 3; round++) {
      await api.editMessageText(group, sent.message_id, `round ${round}`);
    }

    const calls = server.calls.filter((call) => call.params.chat_id === group);
    expect(calls).toHaveLength(4);
    expect(refused(calls)).toEqual([]);
    const at = times(calls);
    expect(at[3]! - at[0]!).toBeGreaterThanOrEqual(3 * 200 - 5);
  });
});

describe('retries and failures', () => {
  it('retries a 429 after the retry_after the server asked for, and succeeds', async () => {
    // The client allows far more than the server: the server's limit is what bites.
    const { server, bots, logLines } = await setup({
      server: { perChatPerSecond: 1, perChatBurst: 1 },
      client: { perChatPerSecond: 100, perChatBurst: 100 },
    });
    const chat = 6001;
    await bots[0]!.api.sendMessage(chat, 'first');
    await bots[0]!.api.sendMessage(chat, 'second');

    const calls = sends(server, chat);
    expect(calls.map((call) => [call.params.text, call.response.ok])).toEqual([
      ['first', true],
      ['second', false],
      ['second', true],
    ]);
    const limited = calls[1]!.response;
    expect(limited).toMatchObject({ error_code: 429, parameters: { retry_after: 1 } });
    expect(calls[2]!.at - calls[1]!.at).toBeGreaterThanOrEqual(1000);
    expect(logLines.join('')).toContain('Telegram rate limit hit despite pacing');
  });

  it('gives up on a 429 that asks to wait longer than maxRetryDelaySeconds', async () => {
    const { server, bots } = await setup({
      server: { perChatPerSecond: 1, perChatBurst: 1 },
      client: { perChatPerSecond: 100, perChatBurst: 100, maxRetryDelaySeconds: 0 },
    });
    await bots[0]!.api.sendMessage(6101, 'first');
    const failure = bots[0]!.api.sendMessage(6101, 'second');
    await expect(failure).rejects.toBeInstanceOf(GrammyError);
    await expect(failure).rejects.toMatchObject({ error_code: 429 });
    expect(sends(server, 6101)).toHaveLength(2);
  });

  it('reports a chat that blocked the bot and still fails the call', async () => {
    const chat = 987_654_321;
    const onBlocked = vi.fn(async (_chatId: number) => {});
    const { server, bots, logLines } = await setup({
      server: FAST_CHAT,
      client: FAST_CHAT,
      onBlocked,
    });
    await server.blockChat(chat);

    const failure = bots[0]!.api.sendMessage(chat, 'your corn is ready');
    await expect(failure).rejects.toMatchObject({
      error_code: 403,
      description: 'Forbidden: bot was blocked by the user',
    });
    expect(onBlocked).toHaveBeenCalledExactlyOnceWith(chat);
    const logs = logLines.join('');
    expect(logs).toContain('"chat":"private"');
    expect(logs).not.toContain(String(chat));
  });

  it('logs a failing onBlocked and still lets the 403 reach the caller', async () => {
    const chat = -876_543_219;
    const { server, bots, logLines } = await setup({
      server: FAST_CHAT,
      client: FAST_CHAT,
      onBlocked: async () => {
        throw new Error('registry down');
      },
    });
    await bots[0]!.api.sendMessage(chat, 'hello group');
    await server.blockChat(chat);

    await expect(bots[0]!.api.sendMessage(chat, 'anyone?')).rejects.toMatchObject({
      error_code: 403,
      description: 'Forbidden: bot was kicked from the group chat',
    });
    const logs = logLines.join('');
    expect(logs).toContain('could not mark the chat blocked');
    expect(logs).toContain('registry down');
    expect(logs).not.toContain(String(chat).slice(1));
  });

  it('sends anyway once maxWaitMs is spent, and says so', async () => {
    const { server, bots, logLines } = await setup({
      server: false,
      client: { perChatPerSecond: 0.1, perChatBurst: 1, maxWaitMs: 300 },
    });
    const chat = 7001;
    await Promise.all([
      bots[0]!.api.sendMessage(chat, 'one'),
      bots[0]!.api.sendMessage(chat, 'two'),
    ]);
    expect(sends(server, chat).map((call) => call.params.text)).toEqual(['one', 'two']);
    expect(logLines.join('')).toContain('no turn to send within maxWaitMs');
  });

  it('refuses a second install on the same Api', async () => {
    const { bots } = await setup({ server: false, client: {} });
    expect(() =>
      installOutgoing(bots[0]!.api, {
        redis,
        keyPrefix: RUN_PREFIX,
        logger: createLogger('silent'),
      }),
    ).toThrow(/already installed/);
  });
});
