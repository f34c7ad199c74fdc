/** The Bot API methods the test server implements, over its chats and update queue. */
import { randomBytes } from 'node:crypto';
import type {
  InlineKeyboardMarkup,
  Message,
  ReplyParameters,
  UserFromGetMe,
  WebhookInfo,
} from 'grammy/types';
import type { ChatRecord, Chats } from './chats';
import type { SendLimiter } from './limits';
import { DEFAULT_MAX_CONNECTIONS, type UpdateFeed } from './updates';
import {
  BotApiError,
  MAX_CALLBACK_ANSWER_LENGTH,
  type MessageText,
  type Params,
  badRequest,
  booleanParam,
  captionParam,
  chatIdParam,
  codePoints,
  integerParam,
  jsonParam,
  messageTextParam,
  replyMarkupParam,
  stringParam,
} from './validation';

/** A successful result that carries a description too, as setWebhook's does. */
export class Described {
  constructor(
    readonly result: unknown,
    readonly description: string,
  ) {}
}

export type Method = (params: Params, signal: AbortSignal) => Promise<unknown>;

export interface MethodDeps {
  bot: UserFromGetMe;
  chats: Chats;
  feed: UpdateFeed;
  /** Undefined when limits are off. */
  limiter?: SendLimiter;
  /** Callback queries the bot has yet to answer. */
  openCallbackQueries: Set<string>;
}

const LONG_POLL_MAX_TIMEOUT = 50;
const NOT_MODIFIED =
  'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message';

/** What an edit may change; an edit that changes none of them is refused. */
const SHOWN_FIELDS = ['text', 'caption', 'entities', 'caption_entities', 'reply_markup'] as const;

const unixTime = () => Math.floor(Date.now() / 1000);
const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));

/** Bot API methods by their canonical names; Telegram matches names case-insensitively. */
export function createMethods(deps: MethodDeps): Record<string, Method> {
  const { bot, chats, feed, limiter, openCallbackQueries } = deps;
  let setWebhookAllowedAt = 0;

  const countSend = (chatId: number) => {
    const retryAfter = limiter?.take(chatId) ?? 0;
    if (retryAfter > 0) {
      throw new BotApiError(429, `Too Many Requests: retry after ${retryAfter}`, retryAfter);
    }
  };

  /** Checks done for every kind of send, in the order Telegram reports them. */
  const sendTo = (params: Params): ChatRecord => {
    const record = chats.forBot(chatIdParam(params));
    record.ensureReachable();
    return record;
  };

  const replyTo = (record: ChatRecord, params: Params): Pick<Message, 'reply_to_message'> => {
    const reply = jsonParam(
      params,
      'reply_parameters',
      "can't parse reply parameters JSON object",
    ) as Partial<ReplyParameters> | undefined;
    const messageId = reply?.message_id ?? integerParam(params, 'reply_to_message_id');
    if (!messageId) return {};
    const target = record.messages.get(messageId);
    if (target) {
      const { reply_to_message: _nested, ...replied } = target.message;
      return { reply_to_message: replied as Message['reply_to_message'] };
    }
    if (reply?.allow_sending_without_reply || booleanParam(params, 'allow_sending_without_reply')) {
      return {};
    }
    throw badRequest('message to be replied not found');
  };

  const send = (
    record: ChatRecord,
    content: Partial<Message>,
    text: MessageText | undefined,
    markup: InlineKeyboardMarkup | undefined,
    params: Params,
  ): Message => {
    const reply = replyTo(record, params);
    countSend(record.chat.id);
    const message = {
      message_id: record.nextMessageId(),
      from: bot,
      chat: record.chat,
      date: unixTime(),
      ...reply,
      ...content,
      ...(markup && { reply_markup: markup }),
    } as Message;
    record.store({ message, byBot: true, source: text?.source, parseMode: text?.parseMode });
    return message;
  };

  const botMessage = (params: Params, what: 'edit' | 'delete') => {
    const chatId = stringParam(params, 'chat_id');
    const messageId = integerParam(params, 'message_id');
    if (!chatId && !messageId && what === 'edit') {
      if (!stringParam(params, 'inline_message_id'))
        throw badRequest('message identifier is not specified');
      // Inline-mode messages are not modelled: none exists to be edited.
      throw badRequest('message to edit not found');
    }
    if (!chatId)
      throw badRequest(what === 'delete' ? 'chat identifier is not specified' : 'chat_id is empty');
    if (!messageId && what === 'delete') throw badRequest('message identifier is not specified');
    const record = chats.forBot(chatIdParam(params));
    const stored = record.messages.get(messageId ?? 0);
    if (!stored) throw badRequest(`message to ${what} not found`);
    return { record, stored };
  };

  const edit = (params: Params, change: (message: Message) => Message, text?: MessageText) => {
    const { record, stored } = botMessage(params, 'edit');
    if (!stored.byBot) throw badRequest("message can't be edited");
    const edited = change(stored.message);
    const unchanged = SHOWN_FIELDS.every(
      (key) => JSON.stringify(edited[key] ?? null) === JSON.stringify(stored.message[key] ?? null),
    );
    if (unchanged) throw badRequest(NOT_MODIFIED);
    record.ensureReachable();
    // Edits count against the limits in groups only.
    if (record.chat.id < 0) countSend(record.chat.id);
    const message = { ...edited, edit_date: unixTime() } as Message;
    record.store({
      ...stored,
      message,
      ...(text && { source: text.source, parseMode: text.parseMode }),
    });
    return message;
  };

  const withoutKeys = (message: Message, ...keys: (keyof Message)[]) => {
    const copy: Record<string, unknown> = { ...message };
    for (const key of keys) delete copy[key];
    return copy as unknown as Message;
  };

  const textContent = (text: MessageText) => ({
    text: text.text,
    ...(text.entities.length > 0 && { entities: text.entities }),
  });

  /** sendPhoto, sendDocument: the file itself is not kept, only what a Message says of it. */
  const sendMedia = (kind: 'photo' | 'document') => async (params: Params) => {
    const file = fileParam(params, kind);
    const caption = captionParam(params);
    const markup = replyMarkupParam(params);
    const record = sendTo(params);
    const ids = { file_id: file.fileId, file_unique_id: file.fileId.slice(-16) };
    const media =
      kind === 'photo'
        ? {
            photo: [
              { ...ids, width: 1280, height: 720, ...(file.size && { file_size: file.size }) },
            ],
          }
        : {
            document: {
              ...ids,
              ...(file.name && { file_name: file.name }),
              ...(file.type && { mime_type: file.type }),
              ...(file.size && { file_size: file.size }),
            },
          };
    const captionContent = caption && {
      caption: caption.text,
      ...(caption.entities.length > 0 && { caption_entities: caption.entities }),
    };
    return send(record, { ...media, ...captionContent }, caption, markup, params);
  };

  const webhookInfo = (): WebhookInfo => ({
    url: feed.webhook?.url ?? '',
    has_custom_certificate: false,
    pending_update_count: feed.pendingCount,
    ...(feed.lastError && {
      last_error_date: feed.lastError.date,
      last_error_message: feed.lastError.message,
    }),
    ...(feed.webhook && { max_connections: feed.webhook.maxConnections, ip_address: '127.0.0.1' }),
    ...(feed.allowedUpdates && {
      allowed_updates: feed.allowedUpdates as WebhookInfo['allowed_updates'],
    }),
  });

  const deleteWebhook = async (params: Params) => {
    if (booleanParam(params, 'drop_pending_updates')) feed.dropPending();
    if (!feed.webhook) return new Described(true, 'Webhook is already deleted');
    feed.deleteWebhook();
    return new Described(true, 'Webhook was deleted');
  };

  const accepted = async () => true;

  return {
    getMe: async () => bot,

    sendMessage: async (params) => {
      const text = messageTextParam(params);
      const markup = replyMarkupParam(params);
      return send(sendTo(params), textContent(text), text, markup, params);
    },

    sendPhoto: sendMedia('photo'),
    sendDocument: sendMedia('document'),

    editMessageText: async (params) => {
      const text = messageTextParam(params);
      const markup = replyMarkupParam(params);
      return edit(
        params,
        (current) => {
          if (current.text === undefined)
            throw badRequest('there is no text in the message to edit');
          // Without reply_markup Telegram removes the message's inline keyboard.
          const edited = {
            ...withoutKeys(current, 'entities', 'reply_markup'),
            ...textContent(text),
          };
          return markup ? { ...edited, reply_markup: markup } : edited;
        },
        text,
      );
    },

    editMessageReplyMarkup: async (params) => {
      const markup = replyMarkupParam(params);
      return edit(params, (current) => {
        const edited = withoutKeys(current, 'reply_markup');
        return markup ? { ...edited, reply_markup: markup } : edited;
      });
    },

    deleteMessage: async (params) => {
      const { record, stored } = botMessage(params, 'delete');
      record.messages.delete(stored.message.message_id);
      return true;
    },

    answerCallbackQuery: async (params) => {
      const id = stringParam(params, 'callback_query_id') ?? '';
      if (!openCallbackQueries.has(id)) {
        throw badRequest('query is too old and response timeout expired or query ID is invalid');
      }
      if (codePoints(stringParam(params, 'text') ?? '') > MAX_CALLBACK_ANSWER_LENGTH) {
        throw badRequest('MESSAGE_TOO_LONG');
      }
      openCallbackQueries.delete(id);
      return true;
    },

    getUpdates: async (params, signal) => {
      feed.setAllowedUpdates(jsonParam(params, 'allowed_updates'));
      return feed.getUpdates(
        {
          offset: integerParam(params, 'offset') ?? 0,
          limit: clamp(integerParam(params, 'limit') ?? 100, 1, 100),
          timeoutSeconds: clamp(integerParam(params, 'timeout') ?? 0, 0, LONG_POLL_MAX_TIMEOUT),
        },
        signal,
      );
    },

    setWebhook: async (params) => {
      const url = stringParam(params, 'url') ?? '';
      if (url === '') return deleteWebhook(params);
      // Telegram takes one new webhook a second.
      if (limiter) {
        if (Date.now() < setWebhookAllowedAt) {
          throw new BotApiError(429, 'Too Many Requests: retry after 1', 1);
        }
        setWebhookAllowedAt = Date.now() + 1000;
      }
      const secretToken = stringParam(params, 'secret_token') ?? '';
      if (secretToken.length > 256) throw badRequest('secret token is too long');
      if (!/^[A-Za-z0-9_-]*$/.test(secretToken)) {
        throw badRequest('secret token contains unallowed characters');
      }
      // Telegram wants HTTPS on ports 443, 80, 88 or 8443; a local bot listens on plain HTTP.
      if (!URL.canParse(url) || !['http:', 'https:'].includes(new URL(url).protocol)) {
        throw badRequest('invalid webhook URL specified');
      }
      const maxConnections = clamp(
        integerParam(params, 'max_connections') || DEFAULT_MAX_CONNECTIONS,
        1,
        100,
      );
      const drop = booleanParam(params, 'drop_pending_updates');
      const allowedUpdates = jsonParam(params, 'allowed_updates');
      const current = feed.webhook;
      if (
        !drop &&
        current?.url === url &&
        (current.secretToken ?? '') === secretToken &&
        current.maxConnections === maxConnections
      ) {
        feed.setAllowedUpdates(allowedUpdates);
        return new Described(true, 'Webhook is already set');
      }
      if (drop) feed.dropPending();
      feed.setAllowedUpdates(allowedUpdates);
      feed.setWebhook({ url, ...(secretToken && { secretToken }), maxConnections });
      return new Described(true, 'Webhook was set');
    },

    deleteWebhook,
    getWebhookInfo: async () => webhookInfo(),

    sendChatAction: async (params) => {
      sendTo(params);
      return true;
    },
    getMyCommands: async () => [],
    setMyCommands: accepted,
    deleteMyCommands: accepted,
    setMyName: accepted,
    setMyDescription: accepted,
    setMyShortDescription: accepted,
    setChatMenuButton: accepted,
    setMyDefaultAdministratorRights: accepted,
  };
}

/**
 * A file parameter: a file_id or URL string, or an upload. grammY uploads a file as its own
 * form part and names it in the field as `attach://<part>`.
 */
function fileParam(params: Params, kind: 'photo' | 'document') {
  let value = params[kind];
  if (typeof value === 'string' && value.startsWith('attach://')) value = params[value.slice(9)];
  if (value === undefined || value === '') throw badRequest(`there is no ${kind} in the request`);
  const newFileId = () => `BQACAgIAAxkBAAI${randomBytes(24).toString('base64url')}`;
  if (typeof value === 'string') {
    return {
      fileId: /^https?:\/\//.test(value) ? newFileId() : value,
      name: '',
      type: '',
      size: 0,
    };
  }
  const upload = value as { file_name?: string; mime_type?: string; file_size?: number };
  return {
    fileId: newFileId(),
    name: upload.file_name ?? '',
    type: upload.mime_type ?? '',
    size: upload.file_size ?? 0,
  };
}
