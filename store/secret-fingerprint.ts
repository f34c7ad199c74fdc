/**
 * Notices processes that were given different USER_HASH_SECRETs. A bot and a worker that disagree
 * on it cannot open each other's sealed chat ids and derive different support codes, so every
 * live bot, worker and `npm start` announces a fingerprint of its UserHash key in Redis
 * (identity's `userHashKeyFingerprint`: an HMAC of a fixed label, never the secret) and refreshes
 * it while alive. A starting process compares its own with those alive now only: a process that
 * stopped, or died without saying so, drops out when its announcement expires.
 *
 * In Redis, under the key prefix: `secret-fingerprint:live`, a sorted set of
 * "<fingerprint> <role> <instance>" scored by when each announcement expires (the set itself
 * expires with its last member); `secret-fingerprint:last`, the fingerprint of the last process
 * that started, kept so that a start with another secret after everything stopped is logged.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../infra/config';
import { userHashKeyFingerprint } from '../infra/identity';
import type { Shutdown } from '../infra/shutdown';
import type { Logger } from '../infra/logging';
import { connectRedis, keyspace, type RedisClient } from './redis';

/** Who announces: production processes refuse to start on a mismatch, `npm start` only warns. */
export type FingerprintRole = 'bot' | 'worker' | 'local';

/** Long enough to ride out a slow refresh; a stopped process drops out after this at most. */
export const DEFAULT_ANNOUNCEMENT_TTL_MS = 30_000;

export interface SecretFingerprintOptions {
  redis: RedisClient;
  keyPrefix: string;
  userHashSecret: string;
  role: FingerprintRole;
  logger: Logger;
  ttlMs?: number;
}

export class SecretMismatchError extends Error {
  override name = 'SecretMismatchError';
}

export interface SecretFingerprintAnnouncement {
  readonly fingerprint: string;
  /** Stops refreshing and withdraws the announcement. */
  stop(): Promise<void>;
}

/**
 * Compares this process's fingerprint with the live ones and, unless a production process meets
 * a mismatch (SecretMismatchError), announces it and keeps it fresh until `stop()`.
 */
export async function announceSecretFingerprint(
  options: SecretFingerprintOptions,
): Promise<SecretFingerprintAnnouncement> {
  const { redis, role, logger } = options;
  const ttlMs = options.ttlMs ?? DEFAULT_ANNOUNCEMENT_TTL_MS;
  const key = keyspace(options.keyPrefix);
  const liveKey = key('secret-fingerprint', 'live');
  const lastKey = key('secret-fingerprint', 'last');
  const fingerprint = userHashKeyFingerprint(options.userHashSecret);

  const now = Date.now();
  await redis.zRemRangeByScore(liveKey, '-inf', now);
  const live = (await redis.zRangeByScore(liveKey, now, '+inf')).map((member) => {
    const [theirs = '', theirRole = '?'] = member.split(' ');
    return { fingerprint: theirs, role: theirRole };
  });
  const others = live.filter((process) => process.fingerprint !== fingerprint);
  if (others.length > 0) {
    const roles = [...new Set(others.map((p) => p.role))].join(', ');
    const theirs = [...new Set(others.map((p) => p.fingerprint))].join(', ');
    const message =
      `USER_HASH_SECRET differs from the one ${others.length} running process(es) (${roles}) use: ` +
      `key fingerprint ${fingerprint} here, ${theirs} there. Processes with different secrets ` +
      "give players different support codes and cannot open each other's sealed chat ids: " +
      'give the bot and every worker the same USER_HASH_SECRET.';
    if (role !== 'local') throw new SecretMismatchError(message);
    logger.warn({ fingerprint, others: theirs }, message);
  } else {
    const previous = await redis.get(lastKey);
    if (previous !== null && previous !== fingerprint) {
      logger.warn(
        { fingerprint, previous },
        'USER_HASH_SECRET changed since the last process ran (its key fingerprint differs): ' +
          'every player gets a new support code and a new, empty farm',
      );
    }
    await redis.set(lastKey, fingerprint);
  }

  const member = `${fingerprint} ${role} ${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const announce = async () => {
    await redis.zAdd(liveKey, { score: Date.now() + ttlMs, value: member });
    await redis.pExpire(liveKey, ttlMs);
  };
  await announce();
  const refresh = setInterval(() => {
    announce().catch((err: unknown) =>
      logger.warn({ err }, 'could not refresh the USER_HASH_SECRET fingerprint in Redis'),
    );
  }, ttlMs / 3);
  refresh.unref();
  logger.info({ fingerprint }, 'USER_HASH_SECRET fingerprint announced');

  return {
    fingerprint,
    async stop() {
      clearInterval(refresh);
      await redis.zRem(liveKey, member);
    },
  };
}

/**
 * For entry points: announces the fingerprint and withdraws it on shutdown; on a mismatch a
 * production process logs why and stops with status 2 before connecting to Temporal.
 */
export async function guardSecretFingerprint(
  options: Omit<SecretFingerprintOptions, 'ttlMs'> & { shutdown: Shutdown },
): Promise<void> {
  try {
    const announcement = await announceSecretFingerprint(options);
    options.shutdown.add('secret fingerprint', () => announcement.stop());
  } catch (err) {
    if (!(err instanceof SecretMismatchError)) throw err;
    options.logger.fatal(err.message);
    await options.shutdown.run(2);
  }
}

/**
 * For entry points: this process's Redis, closed at shutdown, with its USER_HASH_SECRET
 * fingerprint guarded as `guardSecretFingerprint` says.
 */
export async function connectGuardedRedis(options: {
  config: Config;
  role: FingerprintRole;
  logger: Logger;
  shutdown: Shutdown;
}): Promise<RedisClient> {
  const { config, logger, shutdown } = options;
  const redis = await connectRedis(config.redis.url, logger);
  shutdown.add('redis', () => redis.close());
  await guardSecretFingerprint({
    redis,
    keyPrefix: config.redis.keyPrefix,
    userHashSecret: config.userHashSecret,
    role: options.role,
    logger,
    shutdown,
  });
  return redis;
}
