/**
 * Telegram's flood limits for bots, as the test server enforces them: about one message a
 * second per chat with short bursts, 20 a minute per group, 30 a second overall. Telegram
 * publishes no exact algorithm, so this picks the strict reading that a bot which passes here
 * passes there: a token bucket per chat, and sliding windows for the per-minute group limit and
 * the global limit.
 */
export interface RateLimits {
  perChatPerSecond: number;
  /** Messages a chat may get at once before the per-second rate applies. */
  perChatBurst: number;
  /** Groups, supergroups and channels: the chats with a negative id. */
  perGroupPerMinute: number;
  globalPerSecond: number;
}

export const TELEGRAM_LIMITS: RateLimits = {
  perChatPerSecond: 1,
  perChatBurst: 3,
  perGroupPerMinute: 20,
  globalPerSecond: 30,
};

/** Refills continuously; a send needs one whole token. */
class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly capacity: number,
    private readonly perMs: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.updatedAt = now;
  }

  /** Milliseconds until a token is available; 0 when one is. */
  waitMs(now: number): number {
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.updatedAt) * this.perMs);
    this.updatedAt = now;
    return this.tokens >= 1 ? 0 : (1 - this.tokens) / this.perMs;
  }

  take(): void {
    this.tokens -= 1;
  }
}

/** At most `max` events in any window of `windowMs`. */
class SlidingWindow {
  private readonly events: number[] = [];

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  waitMs(now: number): number {
    while (this.events.length > 0 && this.events[0]! <= now - this.windowMs) this.events.shift();
    return this.events.length < this.max ? 0 : this.events[0]! + this.windowMs - now;
  }

  take(now: number): void {
    this.events.push(now);
  }
}

export class SendLimiter {
  private readonly chats = new Map<number, TokenBucket>();
  private readonly groups = new Map<number, SlidingWindow>();
  private readonly global: SlidingWindow;

  constructor(
    private readonly limits: RateLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.global = new SlidingWindow(limits.globalPerSecond, 1000);
  }

  /**
   * Counts a send to `chatId` if every limit allows it and returns 0; otherwise counts nothing
   * and returns Telegram's `retry_after`: whole seconds, at least 1.
   */
  take(chatId: number): number {
    const now = this.now();
    const limiters: { waitMs(now: number): number; take(now: number): void }[] = [
      this.chatBucket(chatId, now),
      this.global,
    ];
    if (chatId < 0) limiters.push(this.groupWindow(chatId));
    const waitMs = Math.max(...limiters.map((limiter) => limiter.waitMs(now)));
    if (waitMs > 0) return Math.max(1, Math.ceil(waitMs / 1000));
    for (const limiter of limiters) limiter.take(now);
    return 0;
  }

  private chatBucket(chatId: number, now: number): TokenBucket {
    let bucket = this.chats.get(chatId);
    if (!bucket) {
      bucket = new TokenBucket(this.limits.perChatBurst, this.limits.perChatPerSecond / 1000, now);
      this.chats.set(chatId, bucket);
    }
    return bucket;
  }

  private groupWindow(chatId: number): SlidingWindow {
    let window = this.groups.get(chatId);
    if (!window) {
      window = new SlidingWindow(this.limits.perGroupPerMinute, 60_000);
      this.groups.set(chatId, window);
    }
    return window;
  }
}
