/** The Bot API methods the test server implements, over its chats, files and update queue. */
import { basename } from 'node:path';
import type {
  InlineKeyboardMarkup,
  Message,
  ReplyParameters,
  UserFromGetMe,
  WebhookInfo,
} from 'grammy/types';
import type { ChatRecord, Chats } from './chats';
import type { FileKind, FileStore, StoredFile } from './files';
import { Upload } from './forms';
import { imageSize } from './images';
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
  files: FileStore;
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
const SHOWN_FIELDS = [
  'text',
  'caption',
  'entities',
  'caption_entities',
  'photo',
  'document',
  'reply_markup',
] as const;
/** What a new media and caption replace: the message's text or media and caption. */
const CONTENT_FIELDS = [
  'text',
  'entities',
  'photo',
  'document',
  'caption',
  'caption_entities',
] as const;

/** TDLib's size limit for a photo. */
const MAX_PHOTO_BYTES = 10 * 2 ** 20;
/** Telegram's servers refuse photos whose width and height add up to more, or whose ratio is more. */
const MAX_PHOTO_SIDES = 10_000;
const MAX_PHOTO_RATIO = 20;
/** What Telegram downloads from a URL: 5 MB for a photo, 20 MB for other files. */
const MAX_URL_BYTES: Record<FileKind, number> = { photo: 5 * 2 ** 20, document: 20 * 2 ** 20 };
const URL_TIMEOUT_MS = 30_000;
/** The largest file getFile serves. */
const MAX_DOWNLOAD_BYTES = 20 * 2 ** 20;
/** TDLib's names of the file types, in its "can't use file of type" error. */
const TDLIB_FILE_TYPES: Record<FileKind, string> = { photo: 'Photo', document: 'Document' };

const unixTime = () => Math.floor(Date.now() / 1000);
const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));

/** Bot API methods by their canonical names; Telegram matches names case-insensitively. */
export function createMethods(deps: MethodDeps): Record<string, Method> {
  const { bot, chats, files, feed, limiter, openCallbackQueries } = deps;
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

  /**
   * `shown`: the edit replaces the message's text or caption with this one (none when undefined);
   * an edit of the keyboard alone leaves it. `notEditable`: Telegram's refusal for a user's message.
   */
  const edit = async (
    params: Params,
    change: (message: Message) => Message | Promise<Message>,
    shown?: { text: MessageText | undefined },
    notEditable = "message can't be edited",
  ) => {
    const { record, stored } = botMessage(params, 'edit');
    if (!stored.byBot) throw badRequest(notEditable);
    const edited = await change(stored.message);
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
      ...(shown && { source: shown.text?.source, parseMode: shown.text?.parseMode }),
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

  /**
   * The file a message is to show, checked as Telegram checks it: a file_id this server gave, or
   * an upload or a URL's content, which is kept. Telegram also converts a photo to JPEG in a few
   * sizes and takes GIF, WebP, BMP and TIFF; this server keeps the PNG or JPEG as sent, in one size.
   */
  const mediaFile = async (
    kind: FileKind,
    source: Upload | string,
    signal: AbortSignal,
  ): Promise<StoredFile> => {
    if (typeof source === 'string' && !/^https?:\/\//i.test(source)) {
      const known = files.get(source);
      if (!known) throw badRequest('wrong file identifier/HTTP URL specified');
      if (known.kind !== kind) {
        throw badRequest(
          `can't use file of type ${TDLIB_FILE_TYPES[known.kind]} as ${TDLIB_FILE_TYPES[kind]}`,
        );
      }
      return known;
    }
    const byUrl = typeof source === 'string';
    const upload = byUrl ? await download(source, kind, signal) : source;
    const { bytes } = upload;
    if (bytes.length === 0) throw badRequest('file must be non-empty');
    if (kind === 'document') {
      const extension = /\.([^./]{1,16})$/.exec(upload.fileName)?.[1] ?? '';
      return files.add(
        { kind, bytes, contentType: upload.mimeType, fileName: upload.fileName },
        extension,
      );
    }
    if (bytes.length > MAX_PHOTO_BYTES) {
      throw badRequest(
        `file of size ${bytes.length} bytes is too big for a photo; the maximum size is ${MAX_PHOTO_BYTES} bytes`,
      );
    }
    const size = imageSize(bytes);
    if (!size)
      throw badRequest(byUrl ? 'wrong type of the web page content' : 'IMAGE_PROCESS_FAILED');
    const { width, height } = size;
    if (
      width + height > MAX_PHOTO_SIDES ||
      Math.max(width, height) > MAX_PHOTO_RATIO * Math.min(width, height)
    ) {
      throw badRequest('PHOTO_INVALID_DIMENSIONS');
    }
    return files.add({ kind, bytes, contentType: size.contentType, width, height }, size.extension);
  };

  /** sendPhoto, sendDocument. */
  const sendMedia = (kind: FileKind) => async (params: Params, signal: AbortSignal) => {
    const source = fileSource(params[kind], params);
    if (source === undefined) throw badRequest(`there is no ${kind} in the request`);
    const caption = captionParam(params);
    const markup = replyMarkupParam(params);
    const record = sendTo(params);
    const file = await mediaFile(kind, source, signal);
    return send(record, mediaContent(file, caption), caption, markup, params);
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
        { text },
      );
    },

    // A text message may become a photo or document too (TDLib's can_edit_message_media).
    editMessageMedia: async (params, signal) => {
      const markup = replyMarkupParam(params);
      const { kind, source, caption } = inputMediaParam(params);
      return edit(
        params,
        async (current) => {
          const file = await mediaFile(kind, source, signal);
          const edited = {
            ...withoutKeys(current, ...CONTENT_FIELDS, 'reply_markup'),
            ...mediaContent(file, caption),
          };
          return markup ? { ...edited, reply_markup: markup } : edited;
        },
        { text: caption },
        "message media can't be edited",
      );
    },

    editMessageReplyMarkup: async (params) => {
      const markup = replyMarkupParam(params);
      return edit(params, (current) => {
        const edited = withoutKeys(current, 'reply_markup');
        return markup ? { ...edited, reply_markup: markup } : edited;
      });
    },

    getFile: async (params) => {
      const fileId = stringParam(params, 'file_id') ?? '';
      if (fileId === '') throw badRequest('file_id not specified');
      const file = files.get(fileId);
      if (!file) throw badRequest('invalid file_id');
      if (file.bytes.length > MAX_DOWNLOAD_BYTES) throw badRequest('file is too big');
      const { file_id, file_unique_id, file_path } = file;
      return { file_id, file_unique_id, file_size: file.bytes.length, file_path };
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
 * A file parameter: an upload, or a file_id or URL string. grammY uploads a file as its own form
 * part and names it in the field as `attach://<part>`.
 */
function fileSource(value: unknown, params: Params): Upload | string | undefined {
  if (typeof value === 'string' && value.startsWith('attach://')) {
    const part = params[value.slice('attach://'.length)];
    return part instanceof Upload ? part : undefined;
  }
  if (value instanceof Upload) return value;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * editMessageMedia's `media`, an InputMedia, checked as the Bot API parses it. Animations, audio
 * and videos, which Telegram takes too, this server does not model.
 */
function inputMediaParam(params: Params) {
  const media = jsonParam(params, 'media', "can't parse input media JSON object");
  if (media === undefined) throw badRequest('parameter "media" is required');
  const invalid = (reason: string) => badRequest(`can't parse InputMedia: ${reason}`);
  if (typeof media !== 'object' || media === null || Array.isArray(media)) {
    throw invalid('expected an Object');
  }
  const fields = media as Params;
  let caption: MessageText | undefined;
  try {
    caption = captionParam(fields);
  } catch (error) {
    // The Bot API reports the caption's markup as the InputMedia's; its length TDLib checks later.
    if (!(error instanceof BotApiError) || error.description.endsWith('caption is too long')) {
      throw error;
    }
    const reason = error.description.replace(/^Bad Request: /, '');
    throw invalid(reason.charAt(0).toUpperCase() + reason.slice(1));
  }
  const type = fields.type;
  if (type === undefined) throw invalid('Can\'t find field "type"');
  if (typeof type !== 'string') throw invalid('Field "type" must be of type String');
  const source = fileSource(fields.media, params);
  if (source === undefined) throw invalid('media not found');
  const kind: FileKind | undefined = type === 'photo' || type === 'document' ? type : undefined;
  if (!kind) {
    const notModelled = ['animation', 'audio', 'video'].includes(type)
      ? ' in this local server'
      : '';
    throw invalid(`type "${type}" is unsupported${notModelled}`);
  }
  return { kind, source, caption };
}

/** What a Message shows of its file and caption; a photo in its one size. */
function mediaContent(file: StoredFile, caption: MessageText | undefined): Partial<Message> {
  const ids = {
    file_id: file.file_id,
    file_unique_id: file.file_unique_id,
    file_size: file.bytes.length,
  };
  return {
    ...(file.kind === 'photo'
      ? { photo: [{ ...ids, width: file.width, height: file.height }] }
      : { document: { ...ids, file_name: file.fileName, mime_type: file.contentType } }),
    ...(caption && {
      caption: caption.text,
      ...(caption.entities.length > 0 && { caption_entities: caption.entities }),
    }),
  };
}

/** A file sent by URL, which Telegram downloads: errors are Telegram's for a URL it can't use. */
async function download(url: string, kind: FileKind, signal: AbortSignal): Promise<Upload> {
  const failed = badRequest('failed to get HTTP URL content');
  const response = await fetch(url, {
    signal: AbortSignal.any([signal, AbortSignal.timeout(URL_TIMEOUT_MS)]),
  }).catch(() => undefined);
  if (!response?.ok || Number(response.headers.get('content-length')) > MAX_URL_BYTES[kind]) {
    throw failed;
  }
  const bytes = Buffer.from(await response.arrayBuffer().catch(() => new ArrayBuffer(0)));
  if (bytes.length === 0 || bytes.length > MAX_URL_BYTES[kind]) throw failed;
  const type = response.headers.get('content-type')?.split(';')[0]?.trim();
  return new Upload(
    basename(new URL(url).pathname) || 'file',
    type || 'application/octet-stream',
    bytes,
  );
}
