/**
 * POST /telegram/webhook through `app.inject` on `buildApp`: no HTTP listener, no Temporal. The
 * grammY bot is the production one (`createBot`: error boundary, throttle, features) with real
 * Redis under this file's own key prefix. Two things are faked, and only here:
 * - the game client is a stand-in of the GameClient interface that answers as each test says (the
 *   real one, over Temporal, is covered end to end in test/bot/webhook-play.test.ts and the
 *   game-client tests);
 * - Telegram: a grammY transformer on `bot.api` records every Bot API call and answers it in the
 *   process, never calling the network (the bot's apiRoot is a closed local port besides, so a
 *   call that slipped past would fail, not leave the machine).
 * Every test asserts the status code and what was or was not handled: whether grammY got the
 * update, which intents reached the game, which Bot API calls were made.
 */
import { randomUUID } from 'node:crypto';
import { ServiceError } from '@temporalio/client';
import type { LightMyRequestResponse } from 'fastify';
import type { Transformer } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
} from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { buildApp } from '../../../bot/app';
import { APOLOGY_TEXT } from '../../../bot/apology';
import { createBot } from '../../../bot/bot';
import { encodeButton } from '../../../bot/callback-data';
import type { BotServices } from '../../../bot/context';
import {
  GameBusyError,
  type GameClient,
  type Intent,
  type IntentResult,
  IntentTimeoutError,
  type Player,
} from '../../../bot/game-client';
import { installOutgoing } from '../../../bot/outgoing';
import { renderScreen, SLOW_DOWN_TEXT, STALE_BUTTON_TEXT } from '../../../bot/render';
import { SECRET_HEADER, WEBHOOK_PATH, webhookRoutes } from '../../../bot/routes/webhook';
import { UpdateAbandonedError } from '../../../bot/update-deadline';
import { NEUTRAL_WORLD, newFarm } from '../../../game';
import { userHash } from '../../../infra/identity';
import { createLogger } from '../../../infra/logging';
import { createPlayerRegistry } from '../../../store/players';
import {
  connectRedis,
  RedisCommandTimeoutError,
  type RedisClient,
  RedisUnavailableError,
} from '../../../store/redis';
import type { MainMenuScreen } from '../../../workflows/contract';
import { REDIS_URL } from '../../support/constants';
import { sleepMs } from '../../support/game';

const SECRET = 'webhook-inject-test-secret';
const USER_HASH_SECRET = 'webhook-inject-user-hash-secret-0123';
const logger = createLogger('silent');
const BOT_INFO: UserFromGetMe = {
  id: 42,
  is_bot: true,
  first_name: 'farmflow',
  username: 'farmflow_test_bot',
  can_join_groups: false,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
  can_connect_to_business: false,
  has_main_web_app: false,
  has_topics_enabled: false,
  allows_users_to_create_topics: false,
  can_manage_bots: false,
  supports_join_request_queries: false,
};
/** Nothing listens on port 9 (discard): a Bot API call that reached the network would fail here. */
const CLOSED_API_ROOT = 'http://127.0.0.1:9';

let redis: RedisClient;
let keyPrefix: string;
beforeAll(async () => {
  redis = await connectRedis(REDIS_URL, logger);
  keyPrefix = `${inject('redisKeyPrefix')}webhook-inject:${randomUUID().slice(0, 8)}:`;
});
afterAll(() => redis?.close());

let nextUser = 200_000 + Math.floor(Math.random() * 1e8);
let nextUpdateId = 1 + Math.floor(Math.random() * 1e6);
/** A new Telegram user each call (their private chat's id is theirs), so throttles never meet. */
function newUser() {
  nextUser += 1;
  return { id: nextUser, is_bot: false, first_name: `Farmer ${nextUser}` };
}
type User = ReturnType<typeof newUser>;

const privateChat = (user: User) => ({
  id: user.id,
  type: 'private' as const,
  first_name: user.first_name,
});

/** A player's `/start`: the farm feature runs a `show` intent for it. */
function startCommand(user: User, updateId = ++nextUpdateId) {
  return {
    update_id: updateId,
    message: {
      message_id: 1,
      date: Math.floor(Date.now() / 1000),
      chat: privateChat(user),
      from: user,
      text: '/start',
      entities: [{ type: 'bot_command', offset: 0, length: 6 }],
    },
  };
}

/** A press of a button under one of the bot's messages, with `data` as given (untrusted). */
function buttonPress(user: User, data: unknown, updateId = ++nextUpdateId) {
  return {
    update_id: updateId,
    callback_query: {
      id: `cq-${updateId}`,
      from: user,
      chat_instance: 'ci-1',
      data,
      message: {
        message_id: 7,
        date: Math.floor(Date.now() / 1000),
        chat: privateChat(user),
        from: BOT_INFO,
        text: 'your farm',
      },
    },
  };
}

const NOW = Date.UTC(2024, 0, 1);
const farmOf = (hash: string): MainMenuScreen => ({
  kind: 'farm',
  snapshot: { userHash: hash, farm: newFarm(NOW, 1), readyCrops: [], asOfMs: NOW },
  world: NEUTRAL_WORLD,
});

interface IntentCall {
  player: Player;
  intent: Intent;
  unique: string;
}
type Answer = (call: IntentCall) => Promise<IntentResult>;

/** FAKE game client (see the file's comment): records each intent and answers with `answer`. */
function fakeGame(answer: Answer): GameClient & { calls: IntentCall[] } {
  const calls: IntentCall[] = [];
  return {
    calls,
    userHashOf: (id) => userHash(id, USER_HASH_SECRET),
    sealChatId: () => 'sealed',
    setReachable: async () => false,
    handleIntent(player, intent, unique) {
      const call = { player, intent, unique };
      calls.push(call);
      return answer(call);
    },
  };
}

/** Answers every intent with the player's new farm. */
const answerWithFarm: Answer = async ({ player }) => {
  const hash = userHash(player.telegramUserId, USER_HASH_SECRET);
  return { screen: farmOf(hash), userHash: hash, duplicate: false };
};

interface ApiCall {
  method: string;
  payload: Record<string, unknown>;
}
type ApiFailure = { ok: false; error_code: number; description: string };

/**
 * FAKE Telegram: answers every Bot API call in the process (never calls `prev`, so nothing goes
 * out), as Telegram would for a private chat, or with `fail`'s answer when it gives one.
 */
function answerLocally(calls: ApiCall[], fail?: (call: ApiCall) => ApiFailure | undefined) {
  let messageId = 1000;
  const transformer: Transformer = async (_prev, method, payload) => {
    const call = { method, payload: payload as Record<string, unknown> };
    calls.push(call);
    const failure = fail?.(call);
    if (failure) return failure;
    const chatId = call.payload.chat_id;
    const message = {
      message_id: method === 'sendMessage' ? ++messageId : call.payload.message_id,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: 'private', first_name: 'Farmer' },
      text: call.payload.text,
    };
    const result = method === 'sendMessage' || method.startsWith('edit') ? message : true;
    return { ok: true, result: result as never };
  };
  return transformer;
}

interface AppOptions {
  answer?: Answer;
  /** Telegram's answer to a call, when it is to fail. */
  failApi?: (call: ApiCall) => ApiFailure | undefined;
  /** The Redis the bot's services use (default: the file's connection). */
  redis?: RedisClient;
  /** The route's deadline: set, the route is registered on the app with it (AppDeps has no field for it). */
  deadlineMs?: number;
  /** Installs the production Bot API transformers (pacing, retries, the update's deadline). */
  outgoing?: boolean;
}

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function startApp(options: AppOptions = {}) {
  const game = fakeGame(options.answer ?? answerWithFarm);
  const services: BotServices = {
    game,
    players: createPlayerRegistry(options.redis ?? redis, keyPrefix),
    redis: options.redis ?? redis,
    keyPrefix,
    logger,
    // No "working…" message in these tests: each intent answers at once or not at all.
    workingAfterMs: 60_000,
  };
  const bot = createBot({
    token: '42:webhook-inject-test-token',
    apiRoot: CLOSED_API_ROOT,
    botInfo: BOT_INFO,
    services,
  });
  const apiCalls: ApiCall[] = [];
  // Installed first, so it is innermost: it stands where the request to Telegram would be.
  bot.api.config.use(answerLocally(apiCalls, options.failApi));
  if (options.outgoing) installOutgoing(bot.api, { redis, keyPrefix, logger });
  const handleUpdate = vi.spyOn(bot, 'handleUpdate');

  let app: Awaited<ReturnType<typeof buildApp>>;
  if (options.deadlineMs === undefined) {
    app = await buildApp({ logger, readinessChecks: {}, webhook: { bot, secret: SECRET } });
  } else {
    app = await buildApp({ logger, readinessChecks: {} });
    await app.register(webhookRoutes, { bot, secret: SECRET, deadlineMs: options.deadlineMs });
  }
  apps.push(app);

  const postRaw = (
    body: string,
    headers: Record<string, string> = { [SECRET_HEADER]: SECRET },
    contentType = 'application/json',
  ) =>
    app.inject({
      method: 'POST',
      url: WEBHOOK_PATH,
      headers: { 'content-type': contentType, ...headers },
      payload: body,
    });
  const post = (update: unknown, headers?: Record<string, string>) =>
    postRaw(JSON.stringify(update), headers);

  /** grammY never got the update, no intent reached the game, no Bot API call was made. */
  const expectNothingHandled = () => {
    expect(handleUpdate).not.toHaveBeenCalled();
    expect(game.calls).toEqual([]);
    expect(apiCalls).toEqual([]);
  };
  return { app, bot, game, apiCalls, handleUpdate, post, postRaw, expectNothingHandled };
}

const expectUnavailable = (response: LightMyRequestResponse) => {
  expect(response.statusCode).toBe(503);
  expect(response.json()).toEqual({ ok: false, error: 'temporarily unavailable' });
};

const expectOk = (response: LightMyRequestResponse) => {
  expect(response.statusCode).toBe(200);
  expect(response.json()).toEqual({ ok: true });
};

const sent = (calls: ApiCall[]) => calls.filter((c) => c.method === 'sendMessage');

describe('the webhook secret', () => {
  it.each([
    ['missing', {}],
    ['empty', { [SECRET_HEADER]: '' }],
    ['wrong, of the same length', { [SECRET_HEADER]: SECRET.replace(/.$/, '!') }],
    ['the secret with more after it', { [SECRET_HEADER]: `${SECRET}x` }],
    ['a prefix of the secret', { [SECRET_HEADER]: SECRET.slice(0, -1) }],
    ['in another header', { authorization: SECRET }],
  ])('%s: 401 and nothing handled', async (_, headers) => {
    const h = await startApp();
    const response = await h.post(startCommand(newUser()), headers);
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ ok: false, error: 'unauthorized' });
    h.expectNothingHandled();
  });

  it('is checked before the body: a wrong secret with a malformed body is 401', async () => {
    const h = await startApp();
    const response = await h.postRaw('{"update_id": ', { [SECRET_HEADER]: 'wrong' });
    expect(response.statusCode).toBe(401);
    h.expectNothingHandled();
  });
});

describe('a body that is not an update, with the right secret', () => {
  const user = newUser();
  const start = startCommand(user);
  const { update_id: _, ...withoutId } = start;

  it.each([
    ['not JSON', 'this is not JSON'],
    ['truncated JSON', JSON.stringify(start).slice(0, -3)],
    ['empty', ''],
    ['JSON null', 'null'],
    ['a JSON string', '"update"'],
    ['a JSON number', '123'],
    ['a JSON array of the update', JSON.stringify([start])],
    ['an update without update_id', JSON.stringify(withoutId)],
    ...(
      [
        ['null', null],
        ['true', true],
        ['"123" (a string)', '123'],
        ['[1]', [1]],
        ['-1', -1],
        ['1.5', 1.5],
        ['an unsafe integer', 2 ** 53 + 2],
        ['an object', { id: 1 }],
      ] as const
    ).map(([what, id]) => [`update_id ${what}`, JSON.stringify({ ...start, update_id: id })]),
  ])('%s: 400 and nothing handled', async (_what, body) => {
    const h = await startApp();
    const response = await h.postRaw(body);
    expect(response.statusCode).toBe(400);
    h.expectNothingHandled();
  });

  it('a valid update sent as text/plain (a string to the route): 400 and nothing handled', async () => {
    const h = await startApp();
    const response = await h.postRaw(
      JSON.stringify(startCommand(newUser())),
      { [SECRET_HEADER]: SECRET },
      'text/plain',
    );
    expect(response.statusCode).toBe(400);
    h.expectNothingHandled();
  });
});

describe('a valid update', () => {
  it("a player's /start: 200, its intent reaches the game and the farm is sent", async () => {
    const h = await startApp();
    const user = newUser();
    const update = startCommand(user);
    expectOk(await h.post(update));

    expect(h.handleUpdate).toHaveBeenCalledOnce();
    expect(h.game.calls).toEqual([
      {
        player: { telegramUserId: user.id, chatId: user.id, firstName: user.first_name },
        intent: { type: 'query' },
        unique: `u${update.update_id}`,
      },
    ]);
    const farm = renderScreen(farmOf(userHash(user.id, USER_HASH_SECRET)));
    expect(sent(h.apiCalls)).toEqual([
      expect.objectContaining({
        payload: expect.objectContaining({ chat_id: user.id, text: farm.text }) as unknown,
      }),
    ]);
  });

  it.each([
    ['update_id 0 and nothing else', { update_id: 0 }],
    ['an update kind the bot does not know', { update_id: 7, something_new: { x: 1 } }],
  ])('%s: 200, handed to grammY, no feature acts', async (_, update) => {
    const h = await startApp();
    expectOk(await h.post(update));
    expect(h.handleUpdate).toHaveBeenCalledOnce();
    expect(h.game.calls).toEqual([]);
    expect(h.apiCalls).toEqual([]);
  });

  it.each([
    ['a number', 42],
    ['null', null],
    ['an object', { kind: 'farm' }],
    ['an array', [encodeButton({ kind: 'farm' })]],
    ['true', true],
  ])(
    'a button press whose callback_query.data is %s: 200, the stale-button answer, no apology',
    async (_, data) => {
      const h = await startApp();
      const user = newUser();
      expectOk(await h.post(buttonPress(user, data)));

      const answers = h.apiCalls.filter((c) => c.method === 'answerCallbackQuery');
      expect(answers).toEqual([
        expect.objectContaining({
          payload: expect.objectContaining({ text: STALE_BUTTON_TEXT }) as unknown,
        }),
      ]);
      // The unhandled feature shows the farm in place of the pressed message; no bug was hit.
      expect(h.game.calls.map((c) => c.intent)).toEqual([{ type: 'query' }]);
      expect(h.apiCalls.map((c) => c.payload.text)).not.toContain(APOLOGY_TEXT);
      expect(h.apiCalls.map((c) => c.method)).toContain('editMessageText');
    },
  );

  it("a player's flood past the throttle (in Redis): 200 each, the rest dropped before the game", async () => {
    const h = await startApp();
    const user = newUser();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i += 1) statuses.push((await h.post(startCommand(user))).statusCode);
    expect(statuses).toEqual(Array.from({ length: 10 }, () => 200));
    expect(h.handleUpdate).toHaveBeenCalledTimes(10);
    expect(h.game.calls).toHaveLength(8);
    expect(sent(h.apiCalls).filter((c) => c.payload.text === SLOW_DOWN_TEXT)).toHaveLength(1);
  });
});

/** gRPC-like errors as the SDK's connection raises them (code, details, metadata). */
const grpc = (code: number, name: string) =>
  Object.assign(new Error(`${code} ${name}: no connection`), { code, details: name, metadata: {} });

describe('an update whose handling fails with what a redelivery can fix: 503', () => {
  it.each<[string, () => Error]>([
    ['a start that failed UNAVAILABLE', () => new ServiceError('start', { cause: grpc(14, 'x') })],
    ['a call that hit DEADLINE_EXCEEDED', () => new ServiceError('x', { cause: grpc(4, 'x') })],
    ['a gRPC-like UNAVAILABLE', () => grpc(14, 'UNAVAILABLE')],
    ['a gRPC-like DEADLINE_EXCEEDED', () => grpc(4, 'DEADLINE_EXCEEDED')],
    ['Redis offline', () => new ClientOfflineError()],
    ['Redis closed', () => new ClientClosedError()],
    ['a Redis connect timeout', () => new ConnectionTimeoutError()],
    ['a Redis socket timeout', () => new SocketTimeoutError(1000)],
    ['a Redis socket closed unexpectedly', () => new SocketClosedUnexpectedlyError()],
    ['a Redis client disconnected', () => new DisconnectsClientError()],
    ['Redis reconnect given up', () => new ReconnectStrategyError(new Error('x'), new Error('y'))],
    ['Redis unreachable at connect', () => new RedisUnavailableError('refused')],
    ['a Redis command not answered', () => new RedisCommandTimeoutError('no answer')],
    ['the game client overloaded', () => new GameBusyError(15_000)],
    ['no start within the bound', () => new IntentTimeoutError('start', 5_000)],
    ['no result within the bound', () => new IntentTimeoutError('result', 15_000)],
    ["the update's deadline", () => new UpdateAbandonedError(18_000)],
  ])('the game client failing with %s: 503, no reply, no apology', async (_, error) => {
    const h = await startApp({
      answer: async () => {
        throw error();
      },
    });
    expectUnavailable(await h.post(startCommand(newUser())));
    expect(h.handleUpdate).toHaveBeenCalledOnce();
    expect(h.game.calls).toHaveLength(1);
    expect(h.apiCalls).toEqual([]);
  });

  it('the throttle finding its Redis closed (a real ClientClosedError): 503, the game never asked', async () => {
    const closed = await connectRedis(REDIS_URL, logger);
    await closed.close();
    const h = await startApp({ redis: closed });
    expectUnavailable(await h.post(startCommand(newUser())));
    expect(h.handleUpdate).toHaveBeenCalledOnce();
    expect(h.game.calls).toEqual([]);
    expect(h.apiCalls).toEqual([]);
  });

  it('Telegram failing the reply with a 5xx: 503', async () => {
    const h = await startApp({
      failApi: ({ method }) =>
        method === 'sendMessage'
          ? { ok: false, error_code: 502, description: 'Bad Gateway' }
          : undefined,
    });
    expectUnavailable(await h.post(startCommand(newUser())));
    expect(h.game.calls).toHaveLength(1);
    expect(sent(h.apiCalls)).toHaveLength(1);
  });
});

describe('an update whose handling fails with a bug: 200 and the apology', () => {
  it('the game client failing with a plain Error', async () => {
    const h = await startApp({
      answer: async () => {
        throw new Error('a bug');
      },
    });
    const user = newUser();
    const update = startCommand(user);
    expectOk(await h.post(update));

    // The intent, then the apology's own read of the farm (which fails the same way).
    expect(h.game.calls.map((c) => c.unique)).toEqual([
      `u${update.update_id}`,
      expect.stringMatching(new RegExp(`^u${update.update_id}-apology-`)) as unknown,
    ]);
    expect(sent(h.apiCalls)).toEqual([
      expect.objectContaining({
        payload: expect.objectContaining({ chat_id: user.id, text: APOLOGY_TEXT }) as unknown,
      }),
    ]);
  });

  it('Telegram refusing the reply with a 400: 200, not delivered again', async () => {
    const h = await startApp({
      failApi: () => ({ ok: false, error_code: 400, description: 'Bad Request: chat not found' }),
    });
    expectOk(await h.post(startCommand(newUser())));
    expect(h.game.calls).toHaveLength(1);
    expect(sent(h.apiCalls)).toHaveLength(1);
  });
});

describe("the update's deadline", () => {
  it('a game client that never answers: 503 at the deadline, no reply', async () => {
    const h = await startApp({ deadlineMs: 150, answer: () => new Promise(() => undefined) });
    expectUnavailable(await h.post(startCommand(newUser())));
    expect(h.handleUpdate).toHaveBeenCalledOnce();
    expect(h.game.calls).toHaveLength(1);
    expect(h.apiCalls).toEqual([]);
  });

  it('a game client that answers after the deadline: 503, and the late answer sends nothing', async () => {
    let answered!: () => void;
    const late = new Promise<void>((resolve) => (answered = resolve));
    const h = await startApp({
      deadlineMs: 150,
      outgoing: true,
      answer: async (call) => {
        await sleepMs(600);
        answered();
        return answerWithFarm(call);
      },
    });
    expectUnavailable(await h.post(startCommand(newUser())));
    await late;
    // Room for the abandoned update to reach its reply, were it to make one.
    await sleepMs(300);
    expect(h.game.calls).toHaveLength(1);
    expect(h.apiCalls).toEqual([]);
  });
});
