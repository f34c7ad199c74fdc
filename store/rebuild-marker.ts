/**
 * Whether Redis's copy of the players (registry, leaderboard, preferences) is whole. Farms write
 * their own entries as they change, but after a loss of Redis (a flush, a failover to an empty
 * replica) only a backfill from Temporal brings back the players who did nothing since; until one
 * has finished, a batch that pages through the registry would miss them, so it waits.
 *
 * The mark is a key of the prefix itself: deleting the prefix's keys deletes it too. A rebuild
 * sets it only if its own start token survived the whole rebuild, so a loss during the rebuild
 * leaves it unset.
 */
import { randomUUID } from 'node:crypto';
import { keyspace, type RedisClient } from './redis';

const COMPLETE_IF_STILL_REBUILDING = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[1])
return 1
`;

export function createRebuildMarker(redis: RedisClient, keyPrefix: string) {
  const key = keyspace(keyPrefix);
  const rebuilding = key('registry', 'rebuilding');
  const complete = key('registry', 'complete');

  return {
    /** When the last rebuild that covered every farm finished; null: the copy may be partial. */
    async completedAt(): Promise<Date | null> {
      const value = await redis.get(complete);
      return value ? new Date(value) : null;
    },

    /** Starts a rebuild: returns its token, for `finish`. */
    async begin(): Promise<string> {
      const token = randomUUID();
      await redis.set(rebuilding, token);
      return token;
    },

    /** True if the copy is now whole; false if Redis lost keys since `begin` (rebuild again). */
    async finish(token: string, at: Date): Promise<boolean> {
      const done = await redis.eval(COMPLETE_IF_STILL_REBUILDING, {
        keys: [rebuilding, complete],
        arguments: [token, at.toISOString()],
      });
      return done === 1;
    },
  };
}

export type RebuildMarker = ReturnType<typeof createRebuildMarker>;
