/**
 * What the Bot API checks in a request, with its error texts: taken from tdlib/telegram-bot-api
 * (`Client.cpp`) and TDLib where they originate there, and from Telegram's answers where the
 * check is on Telegram's servers (BUTTON_DATA_INVALID, MESSAGE_TOO_LONG).
 */
import type { InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity } from 'grammy/types';
import { type FormattedText, MarkupError, parseHtml, trimFormatted } from './formatting';

export class BotApiError extends Error {
  constructor(
    readonly errorCode: number,
    readonly description: string,
    readonly retryAfter?: number,
  ) {
    super(description);
  }
}

export const badRequest = (message: string) => new BotApiError(400, `Bad Request: ${message}`);

export const MAX_TEXT_LENGTH = 4096;
export const MAX_CAPTION_LENGTH = 1024;
export const MAX_CALLBACK_DATA_BYTES = 64;
export const MAX_CALLBACK_ANSWER_LENGTH = 200;

/** A method's parameters as sent: JSON values, or strings from a query string or a form. */
export type Params = Record<string, unknown>;

export function stringParam(params: Params, name: string): string | undefined {
  const value = params[name];
  if (value === undefined || value === null) return undefined;
  // Parameters arrive as JSON: numbers, booleans and objects stringify as Telegram reads them.
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Like the Bot API's `to_integer`: a leading integer, 0 when there is none. */
export function integerParam(params: Params, name: string): number | undefined {
  const value = stringParam(params, name);
  return value === undefined || value === '' ? undefined : parseInt(value, 10) || 0;
}

export function booleanParam(params: Params, name: string): boolean {
  const value = stringParam(params, name)?.toLowerCase();
  return value === 'true' || value === '1';
}

/**
 * Objects arrive as JSON in a JSON body and as JSON text in a form; undefined when absent, and
 * when unparsable unless the Bot API refuses that (`unparsable` is then its error).
 */
export function jsonParam(params: Params, name: string, unparsable?: string): unknown {
  const value = params[name];
  if (typeof value !== 'string') return value ?? undefined;
  if (value === '') return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    if (unparsable) throw badRequest(unparsable);
    return undefined;
  }
}

export function chatIdParam(params: Params): number {
  const value = stringParam(params, 'chat_id');
  if (!value) throw badRequest('chat_id is empty');
  // Public usernames (@channel) name no chat here.
  if (!/^-?\d+$/.test(value)) throw badRequest('chat not found');
  return Number(value);
}

export interface MessageText extends FormattedText {
  /** The text as the bot sent it, markup included. */
  source: string;
  parseMode?: string;
}

/** sendMessage's and editMessageText's `text`, parsed as Telegram shows it. */
export function messageTextParam(params: Params): MessageText {
  const source = stringParam(params, 'text') ?? '';
  if (source === '') throw badRequest('message text is empty');
  const parseMode = stringParam(params, 'parse_mode');
  const text = trimFormatted(formattedText(source, parseMode, params, 'entities'));
  if (!text) throw badRequest('text must be non-empty');
  if (codePoints(text.text) > MAX_TEXT_LENGTH) throw badRequest('message is too long');
  return { ...text, source, parseMode };
}

/** A media message's `caption`; undefined when there is none. */
export function captionParam(params: Params): MessageText | undefined {
  const source = stringParam(params, 'caption') ?? '';
  const parseMode = stringParam(params, 'parse_mode');
  const text = trimFormatted(formattedText(source, parseMode, params, 'caption_entities'));
  if (!text) return undefined;
  if (codePoints(text.text) > MAX_CAPTION_LENGTH) throw badRequest('message caption is too long');
  return { ...text, source, parseMode };
}

export const codePoints = (text: string) => [...text].length;

function formattedText(
  source: string,
  parseMode: string | undefined,
  params: Params,
  entitiesName: string,
): FormattedText {
  if (Buffer.byteLength(source) > 1 << 15) throw badRequest('text is too long');
  const mode = parseMode?.toLowerCase() ?? '';
  if (source !== '' && mode !== '' && mode !== 'none') {
    // Telegram takes these two; the bot sends HTML only, so this server does not parse them.
    if (mode === 'markdownv2' || mode === 'markdown') {
      throw badRequest(`unsupported parse_mode in this local server: ${parseMode} (only HTML)`);
    }
    if (mode !== 'html') throw badRequest('unsupported parse_mode');
    try {
      return parseHtml(source);
    } catch (error) {
      if (error instanceof MarkupError) throw badRequest(`can't parse entities: ${error.message}`);
      throw error;
    }
  }
  const entities = jsonParam(params, entitiesName, `can't parse ${entitiesName} JSON object`);
  return { text: source, entities: Array.isArray(entities) ? (entities as MessageEntity[]) : [] };
}

/**
 * `reply_markup`, checked as the Bot API parses it. Returns the inline keyboard as a Message
 * shows it (reply keyboards and force_reply are not part of a Message), or undefined.
 */
export function replyMarkupParam(params: Params): InlineKeyboardMarkup | undefined {
  const markup = jsonParam(params, 'reply_markup', "can't parse reply keyboard markup JSON object");
  if (markup === undefined) return undefined;
  if (!isObject(markup)) throw badRequest('object expected as reply markup');

  const keyboard = arrayField(markup, 'keyboard');
  for (const row of keyboard) {
    if (!Array.isArray(row)) throw badRequest('field "keyboard" must be an Array of Arrays');
    for (const button of row) {
      if (typeof button !== 'string' && !isObject(button)) {
        throw badRequest(
          "can't parse keyboard button: KeyboardButton must be a String or an Object",
        );
      }
    }
  }

  const rows = arrayField(markup, 'inline_keyboard').map((row) => {
    if (!Array.isArray(row)) {
      throw badRequest(
        'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays',
      );
    }
    return row.map((button) => {
      try {
        return inlineButton(button);
      } catch (error) {
        if (error instanceof MarkupError) {
          throw badRequest(`can't parse inline keyboard button: ${error.message}`);
        }
        throw error;
      }
    });
  });
  // Checked by Telegram's servers once the markup is well-formed.
  for (const button of rows.flat()) {
    if (
      'callback_data' in button &&
      Buffer.byteLength(button.callback_data) > MAX_CALLBACK_DATA_BYTES
    ) {
      throw badRequest('BUTTON_DATA_INVALID');
    }
  }
  return keyboard.length === 0 && rows.length > 0 ? { inline_keyboard: rows } : undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function arrayField(object: Record<string, unknown>, name: string): unknown[] {
  const value = object[name];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest(`field "${name}" must be of type Array`);
  return value;
}

/** Text fields may be strings or numbers, as TDLib's JSON reader allows. */
function textField(button: Record<string, unknown>, name: string, required: boolean) {
  const value = button[name];
  if (value === undefined) {
    if (required) throw new MarkupError(`Can't find field "${name}"`);
    return undefined;
  }
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new MarkupError(`Field "${name}" must be of type String`);
  }
  return String(value);
}

/** The kinds of inline button in the order the Bot API tries them; the first one present wins. */
const BUTTON_KINDS = [
  ['url', 'nonEmptyString'],
  ['callback_data', 'nonEmptyString'],
  ['callback_game', 'present'],
  ['pay', 'present'],
  ['switch_inline_query', 'string'],
  ['switch_inline_query_chosen_chat', 'object'],
  ['switch_inline_query_current_chat', 'string'],
  ['login_url', 'object'],
  ['web_app', 'object'],
  ['copy_text', 'object'],
] as const;

/** Thrown errors are TDLib's wording for "can't parse inline keyboard button: …". */
function inlineButton(button: unknown): InlineKeyboardButton {
  if (!isObject(button)) throw new MarkupError('InlineKeyboardButton must be an Object');
  const text = textField(button, 'text', true)!;
  const shown: Record<string, unknown> = { text };
  for (const extra of ['icon_custom_emoji_id', 'style']) {
    if (button[extra] !== undefined) shown[extra] = button[extra];
  }
  for (const [kind, shape] of BUTTON_KINDS) {
    if (!(kind in button)) continue;
    let value = button[kind];
    if (shape === 'object' && !isObject(value)) {
      throw new MarkupError(`Field "${kind}" must be of type Object`);
    }
    if (shape === 'string' || shape === 'nonEmptyString') {
      value = textField(button, kind, shape === 'string');
      // An empty url or callback_data counts as absent: the button falls to the next kind.
      if (value === undefined || (shape === 'nonEmptyString' && value === '')) continue;
    }
    return { ...shown, [kind]: value } as unknown as InlineKeyboardButton;
  }
  throw new MarkupError('Text buttons are unallowed in the inline keyboard');
}
