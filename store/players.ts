/**
 * The player registry: who plays and where to reach them. Batch jobs and notifications page
 * through it; farms are the source of truth, so it can be rebuilt from Temporal.
 *
 * Where to reach a player is kept sealed (identity's `encryptChatId`), as in the farm's input: no
 * raw Telegram id is stored here. Whoever sends to the player opens it with the chat-id keys.
 */
import type { RedisClient } from './redis';
import { keyspace } from './redis';

export interface PlayerRecord {
  userHash: string;
  /**
   * The chat id, sealed. Null for a record written before the registry stored sealed ids (it held
   * the raw id, which this reader does not pass on); its farm's next registration replaces it.
   */
  sealedChatId: string | null;
  active: boolean;
  joinedAtMs: number;
}

/** The field that held the raw chat id before; removed whenever a player registers. */
const LEGACY_RAW_CHAT_ID = 'chatId';

export function createPlayerRegistry(redis: RedisClient, keyPrefix: string) {
  const key = keyspace(keyPrefix);
  const playerKey = (userHash: string) => key('player', userHash);
  const byJoinTime = key('players', 'by-join-time');

  return {
    /** Idempotent: a second registration keeps the first join time. */
    async register(
      player: Omit<PlayerRecord, 'active' | 'sealedChatId'> & { sealedChatId: string },
    ) {
      await redis
        .multi()
        .hSet(playerKey(player.userHash), { sealedChatId: player.sealedChatId, active: '1' })
        .hDel(playerKey(player.userHash), LEGACY_RAW_CHAT_ID)
        .hSetNX(playerKey(player.userHash), 'joinedAtMs', String(player.joinedAtMs))
        .zAdd(byJoinTime, { score: player.joinedAtMs, value: player.userHash }, { NX: true })
        .exec();
    },

    async setActive(userHash: string, active: boolean): Promise<void> {
      await redis.hSet(playerKey(userHash), 'active', active ? '1' : '0');
    },

    async get(userHash: string): Promise<PlayerRecord | null> {
      const fields = await redis.hGetAll(playerKey(userHash));
      if (!fields.sealedChatId && !fields[LEGACY_RAW_CHAT_ID]) return null;
      return {
        userHash,
        sealedChatId: fields.sealedChatId ?? null,
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
