/**
 * The Redis connection. Redis holds what is derived or cheap to lose (registry, leaderboard,
 * world state, dedup keys), so every key is namespaced by a prefix: tests and benchmarks use
 * their own and never touch a real player's data.
 */
import { createClient, type RedisClientType } from 'redis';
import type { Logger } from '../logging';

/** The client `createClient()` returns with no modules or scripts added. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- node-redis spells "none" as {}
export type RedisClient = RedisClientType<{}, {}, {}, 3, {}>;

export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

/**
 * Connects once or fails at once with a message that says how to get a Redis; after the first
 * connection, drops are retried with backoff as usual.
 */
export async function connectRedis(url: string, logger: Logger): Promise<RedisClient> {
  let connectedOnce = false;
  const client = createClient({
    url,
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
  return client;
}

/** Redis URLs may carry a password. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

export function keyspace(prefix: string) {
  return (...parts: string[]) => `${prefix}${parts.join(':')}`;
}
