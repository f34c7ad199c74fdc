/** The chats the bot is in and their messages, as the test server's users and bot left them. */
import type { Chat, InlineKeyboardMarkup, Message, MessageEntity } from 'grammy/types';
import { dropOldest, type Retention } from './retention';
import { BotApiError, badRequest } from './validation';

/** A bot message as the chat shows it now, after edits. */
export interface ChatMessage {
  message_id: number;
  /** The text, or a media message's caption, as Telegram shows it: markup parsed into entities. */
  text: string;
  /** What the bot sent, markup included. */
  source: string;
  parse_mode?: string;
  entities?: MessageEntity[];
  reply_markup?: InlineKeyboardMarkup;
  date: number;
  edit_date?: number;
  /** The Message object the Bot API returns for it. */
  message: Message;
}

export interface StoredMessage {
  message: Message;
  byBot: boolean;
  source?: string;
  parseMode?: string;
}

export class ChatRecord {
  /** In message id order: a new message always has a higher id than the ones before. */
  readonly messages = new Map<number, StoredMessage>();
  /** Users and the bot share one message id sequence per chat. */
  private lastMessageId = 0;
  blocked = false;

  constructor(
    public chat: Chat,
    /** The most messages kept; past it the oldest are forgotten. */
    private readonly maxMessages = Number.POSITIVE_INFINITY,
  ) {}

  nextMessageId(): number {
    return ++this.lastMessageId;
  }

  store(stored: StoredMessage): void {
    this.lastMessageId = Math.max(this.lastMessageId, stored.message.message_id);
    this.messages.set(stored.message.message_id, stored);
    dropOldest(this.messages, this.maxMessages);
  }

  /** Telegram's answer to a bot that writes to a chat it was blocked in or removed from. */
  ensureReachable(): void {
    if (!this.blocked) return;
    const reason = {
      private: 'bot was blocked by the user',
      group: 'bot was kicked from the group chat',
      supergroup: 'bot was kicked from the supergroup chat',
      channel: 'bot is not a member of the channel chat',
    }[this.chat.type];
    throw new BotApiError(403, `Forbidden: ${reason}`);
  }

  shown(): ChatMessage[] {
    return [...this.messages.values()]
      .filter((stored) => stored.byBot)
      .sort((a, b) => a.message.message_id - b.message.message_id)
      .map(({ message, source, parseMode }) => {
        const entities = message.entities ?? message.caption_entities;
        return {
          message_id: message.message_id,
          text: message.text ?? message.caption ?? '',
          source: source ?? '',
          ...(parseMode !== undefined && { parse_mode: parseMode }),
          ...(entities && { entities }),
          ...(message.reply_markup && { reply_markup: message.reply_markup }),
          date: message.date,
          ...(message.edit_date !== undefined && { edit_date: message.edit_date }),
          message,
        };
      });
  }
}

export class Chats {
  /** Least recently active first. */
  private readonly byId = new Map<number, ChatRecord>();

  constructor(
    /** Whether the bot may write to chats no update has introduced. */
    private readonly acceptUnknown: boolean,
    private readonly limits: Pick<Retention, 'chats' | 'messagesPerChat'> = {},
  ) {}

  /** Makes a chat known, or updates what is known of it (a user's new name). */
  register(chat: Chat): ChatRecord {
    const record = this.touch(chat.id);
    if (record) {
      record.chat = chat;
      return record;
    }
    const created = new ChatRecord(chat, this.limits.messagesPerChat);
    this.byId.set(chat.id, created);
    dropOldest(this.byId, this.limits.chats);
    return created;
  }

  find(chatId: number): ChatRecord | undefined {
    return this.byId.get(chatId);
  }

  /** The chat a bot method names: Telegram knows no chat that never met the bot. */
  forBot(chatId: number): ChatRecord {
    const record = this.touch(chatId);
    if (record) return record;
    if (!this.acceptUnknown) throw badRequest('chat not found');
    return this.register(
      chatId > 0
        ? { id: chatId, type: 'private', first_name: 'Test' }
        : { id: chatId, type: chatId < -1e12 ? 'supergroup' : 'group', title: 'Test group' },
    );
  }

  /** The chat, moved to the most recently active end. */
  private touch(chatId: number): ChatRecord | undefined {
    const record = this.byId.get(chatId);
    if (record) {
      this.byId.delete(chatId);
      this.byId.set(chatId, record);
    }
    return record;
  }
}
