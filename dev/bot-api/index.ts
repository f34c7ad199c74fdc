/**
 * A local stand-in for api.telegram.org: the Bot API methods the bot uses, with Telegram's
 * validation, flood limits and error texts, plus simulated users who write to the bot and press
 * its buttons. Tests and local play point grammY's `apiRoot` at `url`.
 */
import type { AddressInfo } from 'node:net';
import fastify, { type FastifyRequest } from 'fastify';
import type { Chat, Message, Update, User, UserFromGetMe } from 'grammy/types';
import { type ChatMessage, Chats } from './chats';
import { FileStore, type StoredFile } from './files';
import { formParams, Upload } from './forms';
import { type RateLimits, SendLimiter, TELEGRAM_LIMITS } from './limits';
import { Described, createMethods } from './methods';
import { dropOldest, type Retention } from './retention';
import { type DeliveryResult, UpdateFeed } from './updates';
import { BotApiError, type Params } from './validation';

export type { ChatMessage } from './chats';
export type { StoredFile } from './files';
export type { RateLimits } from './limits';
export type { Retention } from './retention';
export type { DeliveryResult } from './updates';

export interface TestBotApiOptions {
  /** The token the bot calls with; any other gets 401 Unauthorized. */
  token: string;
  /** getMe's answer; the id defaults to the token's numeric prefix. */
  botInfo?: Partial<UserFromGetMe>;
  /** Telegram's flood limits (the defaults); `false` turns them off. */
  limits?: Partial<RateLimits> | false;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Default: derived from the clock, so that a restarted server never repeats an update id. */
  firstUpdateId?: number;
  /**
   * Telegram answers "chat not found" to a bot writing to a chat that never wrote to it; local
   * play, whose players outlive a server restart, may accept any chat instead. Default false.
   */
  acceptUnknownChats?: boolean;
  /**
   * How much the server keeps in memory, for a long-running local server; oldest dropped first.
   * Default: everything, as a test wants its whole recording.
   */
  retention?: Retention;
}

export type BotApiResponse =
  | { ok: true; result: unknown; description?: string }
  | {
      ok: false;
      error_code: number;
      description: string;
      parameters?: { retry_after: number };
    };

export interface RecordedCall {
  /** Canonical spelling (sendMessage), whatever case the bot used. */
  method: string;
  params: Params;
  /** When the request arrived (ms since the epoch). */
  at: number;
  /** Exactly what the server answered. */
  response: BotApiResponse;
  /** The bot made this call in its answer to a webhook POST (grammY's webhook reply). */
  viaWebhookReply?: true;
}

export type CallListener = (call: RecordedCall, chatId: number | undefined) => void;

/** A simulated user. */
export type UserLike = Partial<Omit<User, 'is_bot'>> & { id: number };

/** Where a simulated user writes: their private chat with the bot unless a group is named. */
export interface ChatLike {
  id: number;
  type?: 'private' | 'group' | 'supergroup';
  title?: string;
}

export interface TestBotApi {
  /** http://127.0.0.1:PORT, for grammY's `client.apiRoot`. */
  url: string;
  botInfo: UserFromGetMe;
  /** Every call the bot made, in the order the server answered them. */
  calls: RecordedCall[];
  /** Every update created, by update_id (including ones allowed_updates dropped). */
  updates: ReadonlyMap<number, Update>;
  /** A user sends a text message; bot commands get their entities, as Telegram adds them. */
  sendText(from: UserLike, text: string, chat?: ChatLike): Promise<DeliveryResult>;
  /**
   * A user presses one of the inline buttons of a bot message; the callback query carries that
   * message as the chat shows it now. Throws when no such message or button is shown.
   */
  pressButton(
    from: UserLike,
    message: { chat_id: number; message_id: number },
    data: string,
  ): Promise<DeliveryResult>;
  /** Any update, taken as is; its chats become known, and a callback_query can be answered. */
  deliver(update: Omit<Update, 'update_id'>): Promise<DeliveryResult>;
  /** POSTs an update to the webhook again, same update_id, as Telegram does after a failure. */
  redeliver(updateId: number): Promise<DeliveryResult>;
  /** The user blocks the bot (or a group removes it): sends then get 403, and my_chat_member says so. */
  blockChat(chatId: number): Promise<DeliveryResult>;
  unblockChat(chatId: number): Promise<DeliveryResult>;
  /** The bot's messages in a chat as it shows them now, after edits and deletions. */
  messages(chatId: number): ChatMessage[];
  /** What users wrote in a chat, oldest first. */
  userMessages(chatId: number): Message[];
  /** A file the bot sent, by its file_id, while the server keeps it (`retention.fileBytes`). */
  file(fileId: string): StoredFile | undefined;
  /**
   * Calls the listener with every call as it is recorded, and the chat it concerns when there is
   * one (a callback answer concerns the chat of the pressed message). Returns the unsubscribe.
   */
  onCall(listener: CallListener): () => void;
  /** The first call, made or yet to come, that satisfies the predicate. Default timeout 5 s. */
  waitForCall(
    predicate: (call: RecordedCall, index: number) => boolean,
    timeoutMs?: number,
  ): Promise<RecordedCall>;
  close(): Promise<void>;
}

interface CallWaiter {
  matches(call: RecordedCall, index: number): boolean;
  resolve(call: RecordedCall): void;
  reject(error: Error): void;
}

/** Telegram's limit on a request's body: what bots may upload. */
const MAX_BODY_BYTES = 50 * 2 ** 20;

const unixTime = () => Math.floor(Date.now() / 1000);
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
/** A call's parameters as recorded: an upload as what a Message says of it, not its bytes. */
const recorded = (params: Params): Params =>
  Object.fromEntries(
    Object.entries(params).map(([name, value]) => [
      name,
      value instanceof Upload ? value.toJSON() : value,
    ]),
  );

export async function startTestBotApi(options: TestBotApiOptions): Promise<TestBotApi> {
  const bot = botInfoFor(options);
  const retention = options.retention ?? {};
  const chats = new Chats(options.acceptUnknownChats ?? false, retention);
  const files = new FileStore(retention.fileBytes);
  const openCallbackQueries = new Set<string>();
  const calls: RecordedCall[] = [];
  const waiters = new Set<CallWaiter>();
  const listeners = new Set<CallListener>();
  /** The chat of each callback query's message, until the query is answered. */
  const callbackQueryChats = new Map<string, number>();
  let callbackQueryCount = 0;
  /** A button press the bot may answer; one never answered is forgotten with old updates. */
  const openCallbackQuery = (id: string, chatId: number | undefined) => {
    openCallbackQueries.add(id);
    if (chatId !== undefined) callbackQueryChats.set(id, chatId);
    dropOldest(openCallbackQueries, retention.updates);
    dropOldest(callbackQueryChats, retention.updates);
  };

  const chatOf = ({ method, params, response }: RecordedCall): number | undefined => {
    if (method === 'answerCallbackQuery') {
      const id = String(params.callback_query_id);
      const chatId = callbackQueryChats.get(id);
      if (response.ok) callbackQueryChats.delete(id);
      return chatId;
    }
    const chatId = Number(params.chat_id);
    return Number.isSafeInteger(chatId) ? chatId : undefined;
  };

  const record = (call: RecordedCall) => {
    calls.push(call);
    if (retention.calls !== undefined && calls.length > retention.calls) {
      calls.splice(0, calls.length - retention.calls);
    }
    const index = calls.length - 1;
    for (const waiter of waiters) {
      if (waiter.matches(call, index)) waiter.resolve(call);
    }
    const chatId = chatOf(call);
    for (const listener of listeners) listener(call, chatId);
  };

  const feed = new UpdateFeed(options.firstUpdateId, retention.updates, async (reply) => {
    const { method, ...params } = reply;
    await invoke(
      typeof method === 'string' ? method : '',
      params,
      AbortSignal.timeout(60_000),
      true,
    );
  });
  const limits = options.limits === false ? undefined : { ...TELEGRAM_LIMITS, ...options.limits };
  const methods = createMethods({
    bot,
    chats,
    files,
    feed,
    limiter: limits && new SendLimiter(limits),
    openCallbackQueries,
  });
  const methodNames = new Map(Object.keys(methods).map((name) => [name.toLowerCase(), name]));

  async function invoke(
    name: string,
    params: Params,
    signal: AbortSignal,
    viaWebhookReply = false,
  ): Promise<BotApiResponse> {
    const at = Date.now();
    const method = methodNames.get(name.toLowerCase()) ?? name;
    let response: BotApiResponse;
    try {
      const run = methods[method];
      // Telegram has more methods than this server; an unknown one fails loudly rather than quietly.
      if (!run) throw new BotApiError(404, 'Not Found: method not found');
      const result = await run(params, signal);
      response =
        result instanceof Described
          ? { ok: true, result: result.result, description: result.description }
          : { ok: true, result };
    } catch (error) {
      response =
        error instanceof BotApiError
          ? {
              ok: false,
              error_code: error.errorCode,
              description: error.description,
              ...(error.retryAfter !== undefined && {
                parameters: { retry_after: error.retryAfter },
              }),
            }
          : {
              ok: false,
              error_code: 500,
              description: `Internal Server Error: ${error instanceof Error ? error.message : String(error)}`,
            };
    }
    record({
      method,
      params: recorded(params),
      at,
      response,
      ...(viaWebhookReply && { viaWebhookReply: true as const }),
    });
    return response;
  }

  const app = fastify({ forceCloseConnections: true, bodyLimit: MAX_BODY_BYTES });
  app.removeContentTypeParser('application/json');
  // grammY posts methods without parameters (getMe) with an empty JSON body.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, body === '' ? {} : JSON.parse(body as string));
    } catch {
      done(Object.assign(new Error("can't parse JSON encoded request"), { statusCode: 400 }));
    }
  });
  app.addContentTypeParser(
    ['application/x-www-form-urlencoded', 'multipart/form-data'],
    { parseAs: 'buffer' },
    async (request: FastifyRequest, body: Buffer) =>
      formParams(request.headers['content-type'] ?? '', body),
  );
  // Telegram reads parameters from the URL when the body is of no kind it knows.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, async () => ({}));
  app.setErrorHandler(async (error: { statusCode?: number; message: string }, _request, reply) =>
    error.statusCode === 413
      ? reply
          .code(413)
          .send({ ok: false, error_code: 413, description: 'Request Entity Too Large' })
      : reply
          .code(400)
          .send({ ok: false, error_code: 400, description: `Bad Request: ${error.message}` }),
  );
  // Where getFile's file_path is downloaded, as from api.telegram.org; anything else is not found.
  app.get('/file/*', async (request, reply) => {
    const match = /^\/file\/bot([^/]*)\/([^?]+)/.exec(request.url);
    const file =
      match && decodeURIComponent(match[1]!) === options.token
        ? files.atPath(decodeURIComponent(match[2]!))
        : undefined;
    if (!file)
      return reply.code(404).send({ ok: false, error_code: 404, description: 'Not Found' });
    return reply.type(file.contentType).send(file.bytes);
  });
  app.route({
    method: ['GET', 'POST'],
    url: '/*',
    handler: async (request, reply) => {
      const match = /^\/bot([^/]*)\/([^/?]+)/.exec(request.url);
      if (!match)
        return reply.code(404).send({ ok: false, error_code: 404, description: 'Not Found' });
      const token = decodeURIComponent(match[1]!);
      const name = decodeURIComponent(match[2]!);
      const params: Params = {
        ...(isObject(request.query) ? request.query : {}),
        ...(isObject(request.body) ? request.body : {}),
      };
      let response: BotApiResponse;
      if (token === options.token) {
        // A client that gives up (a stopped long poll) ends its request; stop waiting for it.
        const abandoned = new AbortController();
        reply.raw.on('close', () => {
          if (!reply.raw.writableFinished) abandoned.abort();
        });
        response = await invoke(name, params, abandoned.signal);
      } else {
        // Telegram answers 404 to what is not a token at all and 401 to a wrong one.
        response = /^\d+:[\w-]+$/.test(token)
          ? { ok: false, error_code: 401, description: 'Unauthorized' }
          : { ok: false, error_code: 404, description: 'Not Found' };
        record({
          method: methodNames.get(name.toLowerCase()) ?? name,
          params,
          at: Date.now(),
          response,
        });
      }
      return reply.code(response.ok ? 200 : response.error_code).send(response);
    },
  });

  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 0 });
  const { port } = app.server.address() as AddressInfo;

  /** Makes the chats an update mentions known, and its messages part of their chats. */
  const learn = (update: Omit<Update, 'update_id'>) => {
    for (const payload of Object.values(update) as unknown[]) {
      if (!isObject(payload)) continue;
      const message = isObject(payload.message) ? payload.message : payload;
      if (isObject(message.chat) && typeof message.chat.id === 'number') {
        const chat = chats.register(message.chat as unknown as Chat);
        if (typeof message.message_id === 'number' && message !== payload.message) {
          chat.store({ message: message as unknown as Message, byBot: false });
        }
      }
    }
    if (update.callback_query) {
      openCallbackQuery(update.callback_query.id, update.callback_query.message?.chat.id);
    }
  };

  const deliver = async (update: Omit<Update, 'update_id'>) => {
    learn(update);
    return feed.add(update);
  };

  const chatMemberChange = (chatId: number, blocked: boolean) => {
    const record =
      chats.find(chatId) ??
      (chatId > 0 ? chats.register(privateChat(asUser({ id: chatId }))) : undefined);
    if (!record) throw new Error(`No chat ${chatId} is known: a user must write to it first`);
    record.blocked = blocked;
    const { chat } = record;
    const actor =
      chat.type === 'private'
        ? asUser({ id: chat.id, first_name: chat.first_name })
        : asUser({ id: 777000, first_name: 'Telegram' });
    const member = { user: bot, status: 'member' as const };
    const kicked = { user: bot, status: 'kicked' as const, until_date: 0 };
    return feed.add({
      my_chat_member: {
        chat,
        from: actor,
        date: unixTime(),
        old_chat_member: blocked ? member : kicked,
        new_chat_member: blocked ? kicked : member,
      },
    });
  };

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    botInfo: bot,
    calls,
    updates: feed.all,

    sendText: async (from, text, chatLike) => {
      const user = asUser(from);
      const chat = chats.register(chatFor(user, chatLike));
      const entities = botCommandEntities(text);
      const message: NonNullable<Update['message']> = {
        message_id: chat.nextMessageId(),
        from: user,
        chat: chat.chat as Exclude<Chat, Chat.ChannelChat>,
        date: unixTime(),
        text,
        ...(entities.length > 0 && { entities }),
      };
      chat.store({ message, byBot: false });
      return feed.add({ message });
    },

    pressButton: async (from, { chat_id, message_id }, data) => {
      const stored = chats.find(chat_id)?.messages.get(message_id);
      if (!stored?.byBot) throw new Error(`Chat ${chat_id} shows no bot message ${message_id}`);
      const buttons = stored.message.reply_markup?.inline_keyboard.flat() ?? [];
      if (!buttons.some((button) => 'callback_data' in button && button.callback_data === data)) {
        const shown = buttons.map((button) =>
          'callback_data' in button ? button.callback_data : button.text,
        );
        throw new Error(
          `Message ${message_id} in chat ${chat_id} has no button with callback_data ${JSON.stringify(data)}; it shows ${JSON.stringify(shown)}`,
        );
      }
      const id = `${bot.id}${String(++callbackQueryCount).padStart(9, '0')}`;
      openCallbackQuery(id, chat_id);
      return feed.add({
        callback_query: {
          id,
          from: asUser(from),
          message: stored.message,
          chat_instance: String(BigInt(chat_id) * 1_000_003n + BigInt(bot.id)),
          data,
        },
      });
    },

    deliver,
    redeliver: (updateId) => feed.redeliver(updateId),
    blockChat: async (chatId) => chatMemberChange(chatId, true),
    unblockChat: async (chatId) => chatMemberChange(chatId, false),
    messages: (chatId) => chats.find(chatId)?.shown() ?? [],
    userMessages: (chatId) =>
      [...(chats.find(chatId)?.messages.values() ?? [])]
        .filter((stored) => !stored.byBot)
        .map((stored) => stored.message)
        .sort((a, b) => a.message_id - b.message_id),
    file: (fileId) => files.get(fileId),
    onCall: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    waitForCall: (predicate, timeoutMs = 5000) => {
      const index = calls.findIndex(predicate);
      if (index !== -1) return Promise.resolve(calls[index]!);
      return new Promise<RecordedCall>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const recent = calls
            .slice(-10)
            .map((call) => `${call.method} ${JSON.stringify(call.params)}`);
          reject(
            new Error(
              `No matching Bot API call within ${timeoutMs} ms; the last ones:\n${recent.join('\n')}`,
            ),
          );
        }, timeoutMs);
        const waiter: CallWaiter = {
          matches: predicate,
          resolve: (call) => {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve(call);
          },
          reject: (error) => {
            clearTimeout(timer);
            waiters.delete(waiter);
            reject(error);
          },
        };
        waiters.add(waiter);
      });
    },

    close: async () => {
      for (const waiter of waiters) waiter.reject(new Error('The test Bot API server closed'));
      await feed.close();
      await app.close();
    },
  };
}

function botInfoFor(options: TestBotApiOptions): UserFromGetMe {
  const tokenId = Number(/^(\d+):/.exec(options.token)?.[1] ?? 0);
  return {
    id: tokenId || 1_000_000_001,
    is_bot: true,
    first_name: 'Test Bot',
    username: 'test_bot',
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
    can_connect_to_business: false,
    has_main_web_app: false,
    has_topics_enabled: false,
    allows_users_to_create_topics: false,
    can_manage_bots: false,
    supports_join_request_queries: false,
    ...options.botInfo,
  };
}

function asUser({ id, first_name, last_name, username, language_code }: UserLike): User {
  return {
    id,
    is_bot: false,
    first_name: first_name ?? 'Test',
    ...(last_name !== undefined && { last_name }),
    ...(username !== undefined && { username }),
    ...(language_code !== undefined && { language_code }),
  };
}

function privateChat(user: User): Chat.PrivateChat {
  return {
    id: user.id,
    type: 'private',
    first_name: user.first_name,
    ...(user.last_name !== undefined && { last_name: user.last_name }),
    ...(user.username !== undefined && { username: user.username }),
  };
}

function chatFor(user: User, chat?: ChatLike): Chat {
  if (!chat || chat.id === user.id) return privateChat(user);
  const type = chat.type ?? (chat.id > 0 ? 'private' : chat.id < -1e12 ? 'supergroup' : 'group');
  if (type === 'private')
    throw new Error(`A private chat's id is its user's id (${user.id}), not ${chat.id}`);
  return { id: chat.id, type, title: chat.title ?? 'Test group' };
}

/** Telegram marks /commands (and /command@bot) in what users write; grammY's bot.command needs it. */
function botCommandEntities(text: string) {
  return [
    ...text.matchAll(/(?<=^|\s)\/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@/])/g),
  ].map((match) => ({
    type: 'bot_command' as const,
    offset: match.index,
    length: match[0].length,
  }));
}
