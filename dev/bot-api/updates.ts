/**
 * The bot's update queue, as Telegram keeps it: one queue of unconfirmed updates that either a
 * webhook drains (an update stays until the webhook answers 2xx) or getUpdates reads (an update
 * stays until a later call's offset confirms it). Kinds outside allowed_updates are dropped
 * when they happen, as Telegram drops them.
 */
import { setMaxListeners } from 'node:events';
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Update } from 'grammy/types';
import pLimit, { type LimitFunction } from 'p-limit';
import { dropOldest } from './retention';
import { BotApiError } from './validation';

/** What became of a simulated update. */
export interface DeliveryResult {
  updateId: number;
  /** The webhook's HTTP status, when the update was POSTed to one. */
  status?: number;
  /** Why the webhook could not be reached ("Connection refused", "Read timeout expired"). */
  error?: string;
  /** Dropped: the bot's allowed_updates leave this kind out. */
  filtered?: true;
}

export interface Webhook {
  url: string;
  secretToken?: string;
  maxConnections: number;
}

/** Update kinds by their Bot API names, as allowed_updates accepts them. */
const UPDATE_KINDS = new Set([
  'message', 'edited_message', 'channel_post', 'edited_channel_post', 'inline_query',
  'chosen_inline_result', 'callback_query', 'shipping_query', 'pre_checkout_query', 'poll',
  'poll_answer', 'my_chat_member', 'chat_member', 'chat_join_request', 'chat_boost',
  'removed_chat_boost', 'message_reaction', 'message_reaction_count', 'business_connection',
  'business_message', 'edited_business_message', 'deleted_business_messages',
  'purchased_paid_media', 'managed_bot', 'guest_message', 'stopped_message_generation',
  'subscription',
]); // prettier-ignore

/** Kinds a bot gets only when its allowed_updates names them. */
const OPT_IN_KINDS = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);

const WEBHOOK_TIMEOUT_MS = 60_000;
/** setWebhook's max_connections when not given. */
export const DEFAULT_MAX_CONNECTIONS = 40;

/**
 * The last update id any feed in this process handed out, so that a server restarted within the
 * same clock tick still never repeats an id.
 */
let lastIssuedUpdateId = 0;

/**
 * The first update id: microseconds since the epoch, so that a restarted server (whose bot keeps
 * its data, keyed on update ids) never reuses one unless the last run averaged more than one
 * update per microsecond. Stays below 2^53 until the year 2255.
 */
export function clockUpdateId(): number {
  return Math.max(Date.now() * 1000, lastIssuedUpdateId + 1);
}

interface LongPoll {
  offset: number;
  limit: number;
  finish(result: Update[] | BotApiError): void;
}

export class UpdateFeed {
  private nextId: number;
  /** Every update created (the newest `maxUpdates` of them), for redelivery and inspection. */
  readonly all = new Map<number, Update>();
  private pending: Update[] = [];
  private allowed?: Set<string>;
  private poll?: LongPoll;
  webhook?: Webhook;
  lastError?: { date: number; message: string };
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly closing = new AbortController();
  /** At most the webhook's max_connections POSTs at once; the rest wait their turn, in order. */
  private readonly connections: LimitFunction = pLimit(DEFAULT_MAX_CONNECTIONS);
  /** Connections to the webhook stay open between updates, as Telegram keeps them. */
  private readonly agents = {
    http: new HttpAgent({ keepAlive: true }),
    https: new HttpsAgent({ keepAlive: true }),
  };

  constructor(
    firstUpdateId: number | undefined,
    /** The most updates kept, delivered or waiting; past it the oldest are dropped. */
    private readonly maxUpdates: number | undefined,
    /** Runs a method the bot answered a webhook POST with, as Telegram does. */
    private readonly onWebhookReply: (params: Record<string, unknown>) => Promise<void>,
  ) {
    this.nextId = firstUpdateId ?? clockUpdateId();
    // Every POST in flight listens to it, up to max_connections (at most 100) at once.
    setMaxListeners(0, this.closing.signal);
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  get allowedUpdates(): string[] | undefined {
    return this.allowed && [...this.allowed];
  }

  async add(payload: Omit<Update, 'update_id'>): Promise<DeliveryResult> {
    const update = { update_id: this.nextId++, ...payload };
    lastIssuedUpdateId = Math.max(lastIssuedUpdateId, update.update_id);
    this.all.set(update.update_id, update);
    dropOldest(this.all, this.maxUpdates);
    const kind = Object.keys(payload)[0] ?? '';
    if (this.allowed ? !this.allowed.has(kind) : OPT_IN_KINDS.has(kind)) {
      return { updateId: update.update_id, filtered: true };
    }
    this.pending.push(update);
    if (this.maxUpdates !== undefined && this.pending.length > this.maxUpdates) {
      this.pending.splice(0, this.pending.length - this.maxUpdates);
    }
    if (this.webhook) return this.post(update, this.webhook);
    this.wakePoll();
    return { updateId: update.update_id };
  }

  /** POSTs an update again, as Telegram does after a webhook failed to take it. */
  async redeliver(updateId: number): Promise<DeliveryResult> {
    const update = this.all.get(updateId);
    if (!update) throw new Error(`No update ${updateId} was ever created`);
    if (!this.webhook) throw new Error('Redelivery needs a webhook: set one with setWebhook');
    return this.post(update, this.webhook);
  }

  /** allowed_updates from getUpdates or setWebhook: absent keeps the current set. */
  setAllowedUpdates(kinds: unknown): void {
    if (!Array.isArray(kinds)) return;
    const known = kinds
      .filter((kind): kind is string => typeof kind === 'string')
      .map((kind) => kind.toLowerCase())
      .filter((kind) => UPDATE_KINDS.has(kind));
    this.allowed = known.length > 0 ? new Set(known) : undefined;
  }

  dropPending(): void {
    this.pending = [];
  }

  async getUpdates(
    request: { offset: number; limit: number; timeoutSeconds: number },
    signal: AbortSignal,
  ): Promise<Update[]> {
    if (this.webhook) {
      throw new BotApiError(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      );
    }
    const { offset, limit, timeoutSeconds } = request;
    // A positive offset confirms every update below it; a negative one keeps only the last -offset.
    if (offset < 0) this.pending = this.pending.slice(offset);
    else if (offset > 0) this.pending = this.pending.filter((update) => update.update_id >= offset);
    const ready = this.pending.slice(0, limit);
    if (ready.length > 0 || timeoutSeconds === 0) return ready;

    this.endPoll(
      new BotApiError(
        409,
        'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
      ),
    );
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => poll.finish([]), timeoutSeconds * 1000);
      const onAbort = () => poll.finish([]);
      const poll: LongPoll = {
        offset: Math.max(offset, 0),
        limit,
        finish: (result) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          if (this.poll === poll) this.poll = undefined;
          if (result instanceof BotApiError) reject(result);
          else resolve(result);
        },
      };
      signal.addEventListener('abort', onAbort);
      this.poll = poll;
    });
  }

  /** Sets the webhook; updates already waiting go to it, as Telegram sends them. */
  setWebhook(webhook: Webhook): void {
    this.endPoll(new BotApiError(409, 'Conflict: terminated by setWebhook request'));
    this.connections.concurrency = webhook.maxConnections;
    this.webhook = webhook;
    this.lastError = undefined;
    const waiting = [...this.pending];
    void this.track(
      (async () => {
        for (const update of waiting) {
          if (this.webhook !== webhook) return;
          await this.post(update, webhook);
        }
      })(),
    );
  }

  deleteWebhook(): void {
    this.webhook = undefined;
    this.lastError = undefined;
  }

  async close(): Promise<void> {
    this.endPoll([]);
    this.closing.abort();
    await Promise.allSettled([...this.inflight]);
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private endPoll(result: Update[] | BotApiError): void {
    this.poll?.finish(result);
  }

  private wakePoll(): void {
    if (!this.poll) return;
    const { offset, limit } = this.poll;
    const ready = this.pending.filter((update) => update.update_id >= offset).slice(0, limit);
    if (ready.length > 0) this.poll.finish(ready);
  }

  private post(update: Update, webhook: Webhook): Promise<DeliveryResult> {
    return this.track(
      this.connections(async () => {
        // Telegram sends what waited for a connection to the webhook set now, not an old one.
        if (this.webhook !== webhook)
          return { updateId: update.update_id, error: 'Webhook changed' };
        return this.send(update, webhook);
      }),
    );
  }

  private async send(update: Update, webhook: Webhook): Promise<DeliveryResult> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (webhook.secretToken) headers['x-telegram-bot-api-secret-token'] = webhook.secretToken;
    const updateId = update.update_id;
    let answer: WebhookAnswer;
    try {
      answer = await this.postJson(webhook.url, headers, JSON.stringify(update));
    } catch (error) {
      const message = webhookFailure(error);
      this.recordError(message);
      return { updateId, error: message };
    }
    const { status, statusText, body } = answer;
    if (status < 200 || status > 299) {
      this.recordError(`Wrong response from the webhook: ${status} ${statusText}`);
      return { updateId, status };
    }
    this.pending = this.pending.filter((pending) => pending.update_id !== updateId);
    const reply = parseWebhookReply(body);
    if (reply) await this.onWebhookReply(reply);
    return { updateId, status };
  }

  /**
   * One POST with Node's HTTP client: a fraction of the CPU that fetch spends per call, which
   * matters when this server shares a machine with the bot it feeds (bench:bot).
   */
  private postJson(url: string, headers: Record<string, string>, body: string) {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    return new Promise<WebhookAnswer>((resolve, reject) => {
      const request = (secure ? httpsRequest : httpRequest)(
        target,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': Buffer.byteLength(body) },
          agent: secure ? this.agents.https : this.agents.http,
          signal: this.closing.signal,
          timeout: WEBHOOK_TIMEOUT_MS,
        },
        (response: IncomingMessage) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('error', reject);
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              statusText: response.statusMessage ?? '',
              body: text,
            }),
          );
        },
      );
      request.on('timeout', () => request.destroy(new WebhookTimeout()));
      request.on('error', reject);
      request.end(body);
    });
  }

  private recordError(message: string): void {
    this.lastError = { date: Math.floor(Date.now() / 1000), message };
  }

  private track<T>(work: Promise<T>): Promise<T> {
    const settled = () => this.inflight.delete(work);
    this.inflight.add(work);
    void work.then(settled, settled);
    return work;
  }
}

interface WebhookAnswer {
  status: number;
  statusText: string;
  body: string;
}

class WebhookTimeout extends Error {
  constructor() {
    super('Read timeout expired');
  }
}

/** Telegram's words for a failed delivery, as getWebhookInfo's last_error_message shows them. */
function webhookFailure(error: unknown): string {
  if ((error as { code?: string }).code === 'ECONNREFUSED') return 'Connection refused';
  return error instanceof Error ? error.message : String(error);
}

/** A webhook may answer with a method call in its body (grammY's webhook reply). */
function parseWebhookReply(body: string): Record<string, unknown> | undefined {
  try {
    const reply: unknown = JSON.parse(body);
    return typeof reply === 'object' && reply !== null && 'method' in reply ? reply : undefined;
  } catch {
    return undefined;
  }
}
