/**
 * The user side of the local Bot API server for people rather than tests: each player is a
 * simulated Telegram user in a private chat with the bot (web-chat/ shows it in a browser).
 * Every chat has a version that moves whenever what it shows changes, so a page can wait for the
 * next change; the bot's callback answers become notices (Telegram's toasts and alerts); an
 * update the webhook refused is delivered again with backoff, as Telegram does.
 */
import type { InlineKeyboardButton, Message, MessageEntity } from 'grammy/types';
import type { DeliveryResult, RecordedCall, TestBotApi } from './index';

/** Telegram's user ids fit in 52 bits; the page's players stay well inside that. */
export const MAX_PLAYER_ID = 9_999_999_999;
/** Telegram's limit on a message's text. */
export const MAX_TEXT_LENGTH = 4096;
/** The most messages a chat view carries: the recent ones, as a chat window shows them. */
export const CHAT_VIEW_MESSAGES = 100;

export interface Player {
  id: number;
  /** The user's first_name, as the bot sees it. */
  name: string;
}

export interface ChatButton {
  text: string;
  /** A callback button's data: press it with `press`. */
  data?: string;
  /** A URL button opens its link. */
  url?: string;
}

/** A message's picture: fetch it with `photo`. */
export interface ChatPhoto {
  fileId: string;
  width: number;
  height: number;
}

export interface ChatEntry {
  messageId: number;
  from: 'bot' | 'player';
  /** Shown above the text, which is then its caption (possibly empty). */
  photo?: ChatPhoto;
  /** Plain text; formatting comes as entities over it (UTF-16 offsets, as Telegram counts). */
  text: string;
  entities: MessageEntity[];
  keyboard: ChatButton[][];
  /** Unix seconds. */
  date: number;
  edited: boolean;
}

export interface ChatNotice {
  /** The chat version this notice arrived with. */
  version: number;
  /**
   * `answer`: the bot answered a button press (text may be empty: the press is merely done);
   * `delivery`: the bot did not take an update and it will be delivered again.
   */
  kind: 'answer' | 'delivery';
  text: string;
  /** Telegram shows it as a dialog to dismiss rather than a toast. */
  alert: boolean;
}

export interface ChatView {
  /** Pass it back to `chat` to wait for the next change. */
  version: number;
  messages: ChatEntry[];
  /** Notices that arrived after the version asked about (none on a first look). */
  notices: ChatNotice[];
}

export type Delivery = Pick<DeliveryResult, 'updateId'> & { delivered: boolean };

export interface PlayerApi {
  send(player: Player, text: string): Promise<Delivery>;
  /** Throws `GoneError` when the chat no longer shows that message or button. */
  press(player: Player, messageId: number, data: string): Promise<Delivery>;
  /**
   * The chat as the player sees it. With `after` equal to its current version, waits until it
   * changes, `waitMs` pass, or `signal` aborts; any other `after` (a page from before a restart)
   * answers at once.
   */
  chat(
    playerId: number,
    options?: { after?: number; waitMs?: number; signal?: AbortSignal },
  ): Promise<ChatView>;
  /** The picture of a photo the player's chat shows; undefined when it shows none such. */
  photo(playerId: number, fileId: string): PhotoFile | undefined;
  /** Ends every wait and stops redeliveries. */
  close(): void;
}

export interface PhotoFile {
  bytes: Buffer;
  contentType: string;
}

export class GoneError extends Error {}

/** Telegram retries a failed webhook delivery for a while, less and less often. */
const REDELIVERY_DELAYS_MS = [1000, 2000, 4000, 8000, 15_000, 30_000, 60_000, 60_000, 60_000];
const KEPT_NOTICES = 20;
const DEFAULT_WAIT_MS = 25_000;

interface ChatState {
  version: number;
  notices: ChatNotice[];
  waiters: Set<() => void>;
}

const SHOWN_BY_CALLS = new Set([
  'sendMessage',
  'sendPhoto',
  'sendDocument',
  'editMessageText',
  'editMessageMedia',
  'editMessageReplyMarkup',
  'deleteMessage',
  'answerCallbackQuery',
]);

export interface PlayerApiOptions {
  redeliveryDelaysMs?: number[];
  /**
   * Players whose chat state (version, notices) is kept; past it the one seen least recently is
   * forgotten (a page of theirs then gets the chat afresh). Default: every player.
   */
  maxPlayers?: number;
}

export function createPlayerApi(api: TestBotApi, options: PlayerApiOptions = {}): PlayerApi {
  const delays = options.redeliveryDelaysMs ?? REDELIVERY_DELAYS_MS;
  const states = new Map<number, ChatState>();
  const timers = new Set<NodeJS.Timeout>();
  // One clock-based sequence for every chat: a version below `firstVersion` is from before a
  // restart, and a page that holds one gets the chat at once and no stale notices.
  const firstVersion = Date.now();
  let lastVersion = firstVersion;
  let closed = false;

  const stateOf = (chatId: number) => {
    let state = states.get(chatId);
    // Most recently seen last: the first entries are the ones to forget.
    states.delete(chatId);
    state ??= { version: firstVersion, notices: [], waiters: new Set() };
    states.set(chatId, state);
    if (options.maxPlayers !== undefined) {
      for (const [oldest, forgotten] of states) {
        if (states.size <= options.maxPlayers) break;
        states.delete(oldest);
        for (const wake of forgotten.waiters) wake();
      }
    }
    return state;
  };

  const changed = (chatId: number, notice?: Omit<ChatNotice, 'version'>) => {
    const state = stateOf(chatId);
    state.version = ++lastVersion;
    if (notice) {
      state.notices.push({ ...notice, version: state.version });
      state.notices.splice(0, state.notices.length - KEPT_NOTICES);
    }
    for (const wake of state.waiters) wake();
  };

  const stopListening = api.onCall((call: RecordedCall, chatId) => {
    if (chatId === undefined || chatId <= 0 || !call.response.ok) return;
    if (!SHOWN_BY_CALLS.has(call.method)) return;
    if (call.method === 'answerCallbackQuery') {
      const text = typeof call.params.text === 'string' ? call.params.text : '';
      const alert = call.params.show_alert === true || call.params.show_alert === 'true';
      changed(chatId, { kind: 'answer', text, alert });
    } else {
      changed(chatId);
    }
  });

  /** Waits for the webhook's answer; a refused update goes again later, as Telegram sends it. */
  const delivered = async (chatId: number, pending: Promise<DeliveryResult>) => {
    const result = await pending;
    const ok = (r: DeliveryResult) => r.filtered || (r.status !== undefined && r.status < 300);
    if (ok(result)) return { updateId: result.updateId, delivered: true };

    const retry = (attempt: number, last: DeliveryResult) => {
      const delay = delays[attempt];
      if (closed) return;
      if (delay === undefined) {
        changed(chatId, {
          kind: 'delivery',
          text: `The bot did not take your last action (${describe(last)}); Telegram would give up now too.`,
          alert: false,
        });
        return;
      }
      changed(chatId, {
        kind: 'delivery',
        text: `The bot did not take your last action (${describe(last)}); trying again in ${Math.ceil(delay / 1000)} s, as Telegram would.`,
        alert: false,
      });
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (closed) return;
        api.redeliver(last.updateId).then(
          (again) => {
            if (!ok(again)) retry(attempt + 1, again);
          },
          () => undefined,
        );
      }, delay);
      timers.add(timer);
    };
    retry(0, result);
    return { updateId: result.updateId, delivered: false };
  };

  return {
    async send(player, text) {
      // The user's message is in the chat as soon as sendText is called; delivery takes longer.
      const pending = api.sendText(asUser(player), text);
      changed(player.id);
      return delivered(player.id, pending);
    },

    async press(player, messageId, data) {
      const shown = api.messages(player.id).find((message) => message.message_id === messageId);
      const buttons = shown?.reply_markup?.inline_keyboard.flat() ?? [];
      if (!buttons.some((b) => 'callback_data' in b && b.callback_data === data)) {
        throw new GoneError('The chat no longer shows that button');
      }
      return delivered(
        player.id,
        api.pressButton(asUser(player), { chat_id: player.id, message_id: messageId }, data),
      );
    },

    async chat(playerId, { after, waitMs = DEFAULT_WAIT_MS, signal } = {}) {
      const state = stateOf(playerId);
      if (after !== undefined && after === state.version && !closed) {
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', done);
            state.waiters.delete(done);
            resolve();
          };
          const timer = setTimeout(done, waitMs);
          signal?.addEventListener('abort', done);
          state.waiters.add(done);
        });
      }
      return {
        version: state.version,
        messages: view(api, playerId),
        notices:
          after === undefined || after < firstVersion || after > state.version
            ? []
            : state.notices.filter((notice) => notice.version > after),
      };
    },

    photo(playerId, fileId) {
      const shown = view(api, playerId).some((entry) => entry.photo?.fileId === fileId);
      const file = shown ? api.file(fileId) : undefined;
      return file && { bytes: file.bytes, contentType: file.contentType };
    },

    close() {
      closed = true;
      stopListening();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const state of states.values()) for (const wake of state.waiters) wake();
    },
  };
}

const asUser = ({ id, name }: Player) => ({ id, first_name: name });

function describe(result: DeliveryResult): string {
  return result.error ?? `HTTP ${result.status}`;
}

function view(api: TestBotApi, chatId: number): ChatEntry[] {
  const fromBot = api.messages(chatId).map((shown): ChatEntry => ({
    messageId: shown.message_id,
    from: 'bot',
    ...photoOf(shown.message),
    text: shown.text,
    entities: shown.entities ?? [],
    keyboard: (shown.reply_markup?.inline_keyboard ?? []).map((row) => row.map(button)),
    date: shown.date,
    edited: shown.edit_date !== undefined,
  }));
  const fromPlayer = api.userMessages(chatId).map((message): ChatEntry => ({
    messageId: message.message_id,
    from: 'player',
    ...photoOf(message),
    text: message.text ?? message.caption ?? '',
    entities: message.entities ?? message.caption_entities ?? [],
    keyboard: [],
    date: message.date,
    edited: message.edit_date !== undefined,
  }));
  return [...fromBot, ...fromPlayer]
    .sort((a, b) => a.messageId - b.messageId)
    .slice(-CHAT_VIEW_MESSAGES);
}

/** Telegram lists a photo's sizes smallest first; a chat shows the largest. */
function photoOf(message: Message): Pick<ChatEntry, 'photo'> {
  const largest = message.photo?.at(-1);
  return largest
    ? { photo: { fileId: largest.file_id, width: largest.width, height: largest.height } }
    : {};
}

function button(shown: InlineKeyboardButton): ChatButton {
  if ('callback_data' in shown) return { text: shown.text, data: shown.callback_data };
  if ('url' in shown) return { text: shown.text, url: shown.url };
  return { text: shown.text };
}
