/**
 * The bot's outgoing Bot API calls: paced below Telegram's flood limits (about one message a
 * second per chat with short bursts, 20 a minute per group, 30 a second overall, the overall
 * budget shared by every bot process through Redis), 429 and 5xx retried with bounded backoff,
 * and a chat that blocked the bot reported to the player registry.
 *
 * Two kinds of sender share those budgets: replies (the bot's Api) and notifications (an Api of
 * their own, installed with `sender: 'notifications'`). Notifications also take a turn in a budget
 * of their own, below the overall one, so that replies always keep the rest: a broadcast never
 * starves a reply. A reply that finds no turn in time goes out anyway (Telegram's 429 is the
 * backstop, and the player is waiting); a notification never does: its attempt fails and the
 * notifications queue retries it later.
 */
import { autoRetry } from '@grammyjs/auto-retry';
import type { Api, Transformer } from 'grammy';
import { trace } from '@opentelemetry/api';
import { metrics } from '../infra/metrics';
import { inSpan } from '../infra/tracing';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { currentDeadline } from './update-deadline';
import type { Logger } from '../infra/logging';
import type { RedisClient } from '../store/redis';

export interface OutgoingLimits {
  /** Sends to one chat, per second, once its burst is spent. */
  perChatPerSecond: number;
  /** Sends one chat may get at once. */
  perChatBurst: number;
  /** Groups, supergroups and channels (negative chat ids), on top of the per-chat limit. */
  perGroupPerMinute: number;
  /** All sends of all processes that share the Redis key prefix. */
  globalPerSecond: number;
  /**
   * Notifications of all processes, inside `globalPerSecond` and below it: replies always keep
   * the difference.
   */
  notificationsPerSecond: number;
  /**
   * The longest a call waits for its turn; then a reply goes out anyway (Telegram's 429 is the
   * backstop) and a notification fails (NoSendTurnError).
   */
  maxWaitMs: number;
  /** Retries of a call Telegram answered with 429 or a 5xx. */
  retryAttempts: number;
  /** A 429 asking to wait longer than this fails the call rather than holding it. */
  maxRetryDelaySeconds: number;
}

/** Telegram's published limits, and retries bounded so that a reply is never minutes late. */
export const DEFAULT_OUTGOING_LIMITS: OutgoingLimits = {
  perChatPerSecond: 1,
  perChatBurst: 3,
  perGroupPerMinute: 20,
  globalPerSecond: 30,
  notificationsPerSecond: 20,
  maxWaitMs: 10_000,
  retryAttempts: 3,
  maxRetryDelaySeconds: 30,
};

export interface OutgoingDeps {
  redis: RedisClient;
  /** The pacing budgets live under `${keyPrefix}outgoing:`; processes that share it share them. */
  keyPrefix: string;
  logger: Logger;
  limits?: Partial<OutgoingLimits>;
  /** Whose calls these are (default replies): notifications take their own budget too. */
  sender?: Sender;
  /**
   * A chat blocked the bot, deleted its account or removed the bot from a group (a 403 on a
   * call to it). Awaited before the call's error reaches its caller; its own errors are logged.
   */
  onBlocked?: (chatId: number) => Promise<void>;
}

/** Replies answer a player's update; notifications are what farms send on their own. */
export type Sender = 'replies' | 'notifications';

/**
 * A notification found no send turn within `maxWaitMs` (or pacing could not be asked): it is not
 * sent, and the notifications queue retries the attempt later.
 */
export class NoSendTurnError extends Error {
  constructor(reason: string) {
    super(`Notification not sent: ${reason}; it is retried later`);
    this.name = 'NoSendTurnError';
  }
}

/** Methods that put a new message into a chat: Telegram counts each against the limits. */
const SEND_METHODS: ReadonlySet<string> = new Set([
  'sendMessage',
  'sendPhoto',
  'sendDocument',
  'sendAudio',
  'sendVideo',
  'sendAnimation',
  'sendVoice',
  'sendVideoNote',
  'sendSticker',
  'sendMediaGroup',
  'sendLocation',
  'sendVenue',
  'sendContact',
  'sendPoll',
  'sendDice',
  'copyMessage',
  'copyMessages',
  'forwardMessage',
  'forwardMessages',
]);

/** Telegram's 403 descriptions for a chat the bot can no longer write to. */
const BLOCKED = /bot was blocked by the user|user is deactivated|bot was kicked/i;

/**
 * The client paces below the limits it is given: a call leaves when Redis admits it but reaches
 * Telegram some milliseconds later, and that delay varies from call to call (a busy host stalls
 * its event loop for a tenth of a second and more, whatever the interval). An earlier call that
 * arrives late and a later one that arrives early look closer together to Telegram than they
 * were admitted; a tenth of each interval or window, and never under 250 ms, absorbs that (with
 * 100 ms, a loaded 2-core CI host saw four 429s in a broadcast that kept the overall budget full).
 */
const withHeadroom = (ms: number) => ms + Math.max(ms / 10, 250);

type ChatId = number | string;

/**
 * The chat a call counts against, or undefined when Telegram does not count it: sends always,
 * edits only in groups, everything else (callback answers, deletions, getUpdates) never.
 */
export function pacedChat(method: string, payload: unknown): ChatId | undefined {
  const chatId = chatIdOf(payload);
  if (chatId === undefined) return undefined;
  if (SEND_METHODS.has(method)) return chatId;
  if (method.startsWith('edit') && isGroup(chatId)) return chatId;
  return undefined;
}

/** Logs say which kind of chat, never which chat. */
export function chatKind(chatId: ChatId): 'private' | 'group' {
  return isGroup(chatId) ? 'group' : 'private';
}

/** `@channelusername` names a channel, which Telegram limits like a group. */
function isGroup(chatId: ChatId): boolean {
  return typeof chatId === 'string' || chatId < 0;
}

function chatIdOf(payload: unknown): ChatId | undefined {
  if (typeof payload !== 'object' || payload === null || !('chat_id' in payload)) return undefined;
  const chatId = payload.chat_id;
  if (typeof chatId === 'number') return chatId;
  if (typeof chatId !== 'string' || chatId === '') return undefined;
  return /^-?\d+$/.test(chatId) ? Number(chatId) : chatId;
}

const installed = new WeakSet<Api>();

/** Installs pacing, retries and block detection on `api`: call once per Bot. */
export function installOutgoing(api: Api, deps: OutgoingDeps): void {
  if (installed.has(api)) throw new Error('installOutgoing: already installed on this Api');
  const limits = { ...DEFAULT_OUTGOING_LIMITS, ...deps.limits };
  validate(limits, deps.sender ?? 'replies');
  installed.add(api);
  const logger = deps.logger.child({
    component: 'outgoing',
    ...(deps.sender === 'notifications' ? { sender: deps.sender } : {}),
  });

  // Transformers wrap in the order given, the first innermost. Each HTTP call is counted (so a 429
  // that autoRetry retried counts once, and its retry once more). Pacing sits inside autoRetry, so
  // every attempt takes its own turn: outside, it would admit a call once and let its retries
  // through unpaced, and calls that all got 429 and the same retry_after would come back at the
  // same moment and trip the limit again. Block detection sees each call's final outcome once
  // (a 403 is never retried). The update's deadline sits outermost: it ends every wait inside.
  api.config.use(
    countCalls(deps.sender ?? 'replies'),
    createPacing(deps.redis, deps.keyPrefix, limits, deps.sender ?? 'replies', logger),
    autoRetry({
      maxRetryAttempts: limits.retryAttempts,
      maxDelaySeconds: limits.maxRetryDelaySeconds,
      // A network error may come after Telegram delivered the message: a retry could send it
      // twice, so it goes back to the caller (a Temporal activity retries on its own terms).
      rethrowHttpErrors: true,
    }),
    watchBlocked(logger, deps.onBlocked),
    stopAtDeadline(),
  );
}

function validate(limits: OutgoingLimits, sender: Sender): void {
  const positive = [
    'perChatPerSecond',
    'perGroupPerMinute',
    'globalPerSecond',
    'notificationsPerSecond',
  ] as const;
  for (const name of positive) {
    if (!(limits[name] > 0)) throw new Error(`outgoing limits: ${name} must be positive`);
  }
  if (sender === 'notifications' && !(limits.notificationsPerSecond < limits.globalPerSecond)) {
    throw new Error(
      'outgoing limits: notificationsPerSecond must be below globalPerSecond, so that replies keep a share',
    );
  }
  if (!Number.isInteger(limits.perChatBurst) || limits.perChatBurst < 1) {
    throw new Error('outgoing limits: perChatBurst must be a whole number, at least 1');
  }
  const nonNegative = ['maxWaitMs', 'retryAttempts', 'maxRetryDelaySeconds'] as const;
  for (const name of nonNegative) {
    if (!(limits[name] >= 0)) throw new Error(`outgoing limits: ${name} must not be negative`);
  }
}

/** One budget a call must fit into: a limiter and the key it counts under. */
interface Budget {
  limiter: RateLimiterRedis;
  key: string;
}

/**
 * At most `perSecond` sends in any second. The window allows whole seconds' worth of sends; a
 * fraction (0.5/s) widens the window instead.
 */
/** At most `perSecond` sends a second; `headroom` widens the window as withHeadroom says. */
function perSecondLimiter(
  redis: RedisClient,
  keyPrefix: string,
  perSecond: number,
  headroom: boolean,
) {
  const points = Math.max(1, Math.floor(perSecond));
  const windowMs = (points / perSecond) * 1000;
  return slidingWindowLimiter(
    redis,
    keyPrefix,
    headroom ? withHeadroom(windowMs) : windowMs,
    points,
  );
}

function createPacing(
  redis: RedisClient,
  keyPrefix: string,
  limits: OutgoingLimits,
  sender: Sender,
  logger: Logger,
): Transformer {
  const prefix = `${keyPrefix}outgoing`;
  const chatInterval = withHeadroom(1000 / limits.perChatPerSecond);
  const perChat = tokenBucketLimiter(redis, `${prefix}:chat`, chatInterval, limits.perChatBurst);
  const perGroup = slidingWindowLimiter(
    redis,
    `${prefix}:group`,
    withHeadroom(60_000),
    limits.perGroupPerMinute,
  );
  const global = perSecondLimiter(redis, prefix, limits.globalPerSecond, true);
  // Exactly their rate, no headroom: Telegram does not count this budget (the global one, which
  // it counts, keeps its headroom), and a budget below the rate at which the server hands out
  // notification tasks would leave tasks in this process waiting out their turn.
  const notifications =
    sender === 'notifications'
      ? perSecondLimiter(redis, `${prefix}:notifications`, limits.notificationsPerSecond, false)
      : undefined;

  // Calls to one chat from this process take their turns in call order, each until its answer,
  // so that a player reads messages in the order the bot sent them.
  const chatQueues = new Map<ChatId, Promise<void>>();

  /** Resolves true once every budget took the call; false when the deadline came first. */
  async function admit(budgets: Budget[], deadline: number, signal?: Signal) {
    for (;;) {
      const taken: Budget[] = [];
      let waitMs = 0;
      for (const budget of budgets) {
        try {
          await budget.limiter.consume(budget.key);
          taken.push(budget);
        } catch (rejection) {
          if (!(rejection instanceof RateLimiterRes)) throw rejection;
          waitMs = Math.max(1, rejection.msBeforeNext);
          break;
        }
      }
      if (taken.length === budgets.length) return true;
      // All or nothing: a call that waits must not hold the other budgets' share meanwhile (a
      // busy chat would eat the global budget), nor be counted twice when it is admitted later.
      await Promise.all(taken.map((budget) => budget.limiter.reward(budget.key)));
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await sleep(Math.min(waitMs, left), signal);
    }
  }

  return async (prev, method, payload, signal) => {
    const chatId = pacedChat(method, payload);
    if (chatId === undefined) return prev(method, payload, signal);

    const kind = chatKind(chatId);
    const started = Date.now();
    const deadline = started + limits.maxWaitMs;
    const previous = chatQueues.get(chatId) ?? Promise.resolve();
    let done!: () => void;
    const turn = new Promise<void>((resolve) => (done = resolve));
    const tail = previous.then(() => turn);
    chatQueues.set(chatId, tail);
    try {
      let outcome: 'paced' | 'late' | 'unpaced' = 'late';
      if (await settlesWithin(previous, deadline - Date.now(), signal)) {
        const budgets: Budget[] = [{ limiter: perChat, key: String(chatId) }];
        if (isGroup(chatId)) budgets.push({ limiter: perGroup, key: String(chatId) });
        if (notifications) budgets.push({ limiter: notifications, key: 'notifications' });
        budgets.push({ limiter: global, key: 'global' });
        try {
          outcome = (await admit(budgets, deadline, signal)) ? 'paced' : 'late';
        } catch (err) {
          if (signal?.aborted) throw err;
          if (notifications) {
            throw new NoSendTurnError(`pacing unavailable (${(err as Error).message})`);
          }
          outcome = 'unpaced';
          logger.warn(
            { err: (err as Error).message, method, chat: kind },
            'pacing unavailable (Redis?): sending unpaced',
          );
        }
      }
      const waitedMs = Date.now() - started;
      if (outcome === 'late' && notifications) {
        logger.warn({ method, chat: kind, waitedMs }, 'no turn for a notification: retried later');
        throw new NoSendTurnError(`no send turn within ${limits.maxWaitMs} ms`);
      }
      if (outcome === 'late') {
        logger.warn(
          { method, chat: kind, waitedMs },
          'no turn to send within maxWaitMs: sending unpaced',
        );
      } else if (outcome === 'paced' && waitedMs > 0) {
        logger.debug({ method, chat: kind, waitedMs }, 'paced');
      }

      const result = await prev(method, payload, signal);
      if (!result.ok && result.error_code === 429) {
        logger.warn(
          { method, chat: kind, retryAfter: result.parameters?.retry_after },
          'Telegram rate limit hit despite pacing',
        );
      } else if (!result.ok && result.error_code >= 500) {
        logger.warn({ method, chat: kind, errorCode: result.error_code }, 'Telegram server error');
      }
      return result;
    } finally {
      done();
      if (chatQueues.get(chatId) === tail) chatQueues.delete(chatId);
    }
  };
}

/**
 * Counts every Bot API call by method and outcome (`farmflow_bot_api_calls_total`), each in a span
 * of its own: the last step of an update's trace.
 */
function countCalls(sender: Sender): Transformer {
  return (prev, method, payload, signal) =>
    inSpan(`BotApi ${method}`, { 'telegram.method': method }, async () => {
      try {
        const result = await prev(method, payload, signal);
        const status = result.ok ? 'ok' : String(result.error_code);
        metrics.botApiCalls.inc({ method, status, sender });
        trace.getActiveSpan()?.setAttribute('telegram.status', status);
        return result;
      } catch (err) {
        metrics.botApiCalls.inc({ method, status: 'network', sender });
        throw err;
      }
    });
}

/**
 * A call made for an update whose deadline passed is not made: the webhook answered 503 and the
 * redelivery replies, so a late reply would be a second one. A call under way at the deadline is
 * aborted (pacing, retries and the request itself).
 */
function stopAtDeadline(): Transformer {
  return async (prev, method, payload, signal) => {
    const deadline = currentDeadline();
    if (!deadline) return prev(method, payload, signal);
    if (deadline.signal.aborted) throw deadline.signal.reason as Error;
    const both = signal
      ? AbortSignal.any([signal as unknown as AbortSignal, deadline.signal])
      : deadline.signal;
    // grammY types its signal with a polyfill's AbortSignal; Node's is the one it gets at run time.
    return prev(method, payload, both as unknown as Parameters<typeof prev>[2]);
  };
}

function watchBlocked(logger: Logger, onBlocked: OutgoingDeps['onBlocked']): Transformer {
  return async (prev, method, payload, signal) => {
    const result = await prev(method, payload, signal);
    if (result.ok || result.error_code !== 403 || !BLOCKED.test(result.description)) {
      return result;
    }
    const chatId = chatIdOf(payload);
    logger.info(
      { method, chat: chatId === undefined ? undefined : chatKind(chatId) },
      'chat unreachable: the bot was blocked or removed',
    );
    if (typeof chatId === 'number' && onBlocked) {
      try {
        await onBlocked(chatId);
      } catch (err) {
        logger.error({ err, method, chat: chatKind(chatId) }, 'could not mark the chat blocked');
      }
    }
    return result;
  };
}

/**
 * rate-limiter-flexible's own Redis counter is a fixed window in whole seconds: it lets twice
 * the limit through across a window boundary and cannot pace 30 a second evenly. Its documented
 * `customIncrTtlLuaScript` swaps in an algorithm of our own; each script answers what the
 * library expects, `{ points consumed, ms }`, where more than `points` consumed means rejected
 * and ms is then the wait until the next call fits. A negative change (`reward`) gives a taken
 * send back. The time is Redis's, so that every process paces by the same clock.
 */
const NOW_MS = `local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
`;

/**
 * Telegram's per-chat limit, a token bucket of `burst` sends refilled one per `intervalMs`,
 * kept as GCRA: the key holds the theoretical arrival time (TAT) of the next send.
 */
function tokenBucketLimiter(
  redis: RedisClient,
  keyPrefix: string,
  intervalMs: number,
  burst: number,
): RateLimiterRedis {
  const script = `${NOW_MS}local interval = ${intervalMs}
local burst = ${burst}
local tat = math.max(tonumber(redis.call('GET', KEYS[1])) or now, now)
if tonumber(ARGV[1]) < 0 then
  tat = tat - interval
elseif tat - (burst - 1) * interval > now then
  return {burst + 1, math.ceil(tat - (burst - 1) * interval - now)}
else
  tat = tat + interval
end
if tat <= now then
  redis.call('DEL', KEYS[1])
  return {0, 0}
end
redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX', math.ceil(tat - now))
return {math.max(1, math.min(burst, math.ceil((tat - now) / interval - 1e-9))), math.ceil(tat - now)}
`;
  return new RateLimiterRedis({
    storeClient: redis,
    useRedisPackage: true,
    keyPrefix,
    points: burst,
    // Unused by the script; the library calls it only for a duration of at least a second.
    duration: Math.max(1, Math.ceil((burst * intervalMs) / 1000)),
    customIncrTtlLuaScript: script,
  });
}

/** At most `limit` sends in any `windowMs`, as a log of send times in a sorted set. */
function slidingWindowLimiter(
  redis: RedisClient,
  keyPrefix: string,
  windowMs: number,
  limit: number,
): RateLimiterRedis {
  const script = `${NOW_MS}local window = ${windowMs}
local limit = ${limit}
if tonumber(ARGV[1]) < 0 then
  redis.call('ZPOPMAX', KEYS[1])
  return {redis.call('ZCARD', KEYS[1]), 0}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
  return {limit + 1, math.max(1, math.ceil(oldest + window - now))}
end
redis.call('ZADD', KEYS[1], now, clock[1] .. '.' .. clock[2] .. ':' .. count)
redis.call('PEXPIRE', KEYS[1], math.ceil(window))
return {count + 1, math.ceil(window)}
`;
  return new RateLimiterRedis({
    storeClient: redis,
    useRedisPackage: true,
    keyPrefix,
    points: limit,
    duration: Math.max(1, Math.ceil(windowMs / 1000)),
    customIncrTtlLuaScript: script,
  });
}

function abortError(): Error {
  return new Error('Request aborted while waiting for its turn to send');
}

/** The part of grammY's AbortSignal (a polyfill's type) that waiting needs. */
interface Signal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

function sleep(ms: number, signal?: Signal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const abort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', abort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', abort);
  });
}

/**
 * Whether `promise` settles within `ms` (true) or the time runs out first (false); rejects
 * when `signal` aborts. Leaves no timer behind.
 */
function settlesWithin(promise: Promise<unknown>, ms: number, signal?: Signal) {
  return new Promise<boolean>((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      settle();
    };
    const abort = () => finish(() => reject(abortError()));
    const timer = setTimeout(() => finish(() => resolve(false)), Math.max(0, ms));
    signal?.addEventListener('abort', abort);
    promise.then(
      () => finish(() => resolve(true)),
      () => finish(() => resolve(true)),
    );
  });
}
