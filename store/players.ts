/**
 * The player registry: who plays and where to reach them. Batch jobs and notifications page
 * through it; farms are the source of truth, so it can be rebuilt from Temporal.
 */
import type { RedisClient } from './redis';
import { keyspace } from './redis';

export interface PlayerRecord {
  userHash: string;
  chatId: number;
  active: boolean;
  joinedAtMs: number;
}

export function createPlayerRegistry(redis: RedisClient, keyPrefix: string) {
  const key = keyspace(keyPrefix);
  const playerKey = (userHash: string) => key('player', userHash);
  const byJoinTime = key('players', 'by-join-time');

  return {
    /** Idempotent: a second registration keeps the first join time. */
    async register(player: Omit<PlayerRecord, 'active'>): Promise<void> {
      await redis
        .multi()
        .hSet(playerKey(player.userHash), { chatId: String(player.chatId), active: '1' })
        .hSetNX(playerKey(player.userHash), 'joinedAtMs', String(player.joinedAtMs))
        .zAdd(byJoinTime, { score: player.joinedAtMs, value: player.userHash }, { NX: true })
        .exec();
    },

    async setActive(userHash: string, active: boolean): Promise<void> {
      await redis.hSet(playerKey(userHash), 'active', active ? '1' : '0');
    },

    async get(userHash: string): Promise<PlayerRecord | null> {
      const fields = await redis.hGetAll(playerKey(userHash));
      if (!fields.chatId) return null;
      return {
        userHash,
        chatId: Number(fields.chatId),
        active: fields.active === '1',
        joinedAtMs: Number(fields.joinedAtMs),
      };
    },

    async count(): Promise<number> {
      return redis.zCard(byJoinTime);
    },
  };
}

export type PlayerRegistry = ReturnType<typeof createPlayerRegistry>;
