/**
 * The Redis connection. Redis holds what is derived or cheap to lose (registry, leaderboard,
 * world state, dedup keys), so every key is namespaced by a prefix: tests and benchmarks use
 * their own and never touch a real player's data.
 */
import { createClient, type RedisClientType } from 'redis';
import type { Logger } from '../infra/logging';

/** The client `createClient()` returns with no modules or scripts added. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- node-redis spells "none" as {}
export type RedisClient = RedisClientType<{}, {}, {}, 3, {}>;

export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

/**
 * The longest one command waits for Redis's answer: every Redis call the bot makes is a small one
 * on the way to a reply, and a Redis that accepts and never answers must fail it well within the
 * webhook's deadline.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 2_000;

/** Redis took a command and did not answer within REDIS_COMMAND_TIMEOUT_MS. */
export class RedisCommandTimeoutError extends Error {
  override name = 'RedisCommandTimeoutError';
}

/**
 * Connects once or fails at once with a message that says how to get a Redis; after the first
 * connection, drops are retried with backoff as usual. While it is down, commands fail at once
 * (ClientOfflineError) rather than wait in a queue for it to come back.
 */
export async function connectRedis(url: string, logger: Logger): Promise<RedisClient> {
  let connectedOnce = false;
  const client = createClient({
    url,
    disableOfflineQueue: true,
    // Bounds only the wait to be written; boundReplies bounds the wait for the answer.
    commandOptions: { timeout: REDIS_COMMAND_TIMEOUT_MS },
    socket: {
      connectTimeout: 3000,
      reconnectStrategy: (retries, cause) =>
        connectedOnce
          ? Math.min(50 * 2 ** retries, 2000)
          : new RedisUnavailableError(cause.message),
    },
  });
  client.on('error', (err: Error) => {
    if (connectedOnce) logger.warn({ err: err.message }, 'redis connection error');
  });
  try {
    await client.connect();
  } catch (err) {
    throw new RedisUnavailableError(
      `Cannot reach Redis at ${redactUrl(url)} (${(err as Error).message}). ` +
        'Start one (e.g. `redis-server --daemonize yes` or `docker run -p 6379:6379 redis:7`) or set REDIS_URL.',
    );
  }
  connectedOnce = true;
  return boundReplies(client, REDIS_COMMAND_TIMEOUT_MS);
}

/**
 * node-redis waits for a written command's reply for ever (its command timeout ends when the
 * command is written, and a socket timeout never fires while other commands keep being written).
 * Every call of the client that returns a promise fails after `ms` instead; a late reply is
 * dropped. The client and its connection are untouched: once Redis answers again, so do calls.
 */
function boundReplies(client: RedisClient, ms: number): RedisClient {
  return new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        return result instanceof Promise ? withTimeout(result, ms) : result;
      };
    },
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new RedisCommandTimeoutError(`Redis did not answer within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Redis URLs may carry a password. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

export function keyspace(prefix: string) {
  return (...parts: string[]) => `${prefix}${parts.join(':')}`;
}

/**
 * Deletes every key under the prefix, and only those (never FLUSHDB: other games, tests and
 * stacks share the server). Returns how many were deleted.
 */
export async function deleteKeysWithPrefix(redis: RedisClient, prefix: string): Promise<number> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let deleted = 0;
  for await (const keys of redis.scanIterator({ MATCH: pattern, COUNT: 1000 })) {
    if (keys.length > 0) deleted += await redis.del(keys);
  }
  return deleted;
}
