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
  /** Whether Telegram can reach the player (false after a 403): the farm's `reachable`. */
  active: boolean;
  joinedAtMs: number;
  /** The player's choice, copied from the farm; true until the farm first published it. */
  notifications: boolean;
  /** The name the player shows on the leaderboard; null when hidden or unknown. */
  displayName: string | null;
}

/** What a new farm registers before it has published anything else. */
export interface PlayerRegistration {
  userHash: string;
  sealedChatId: string;
  joinedAtMs: number;
}

/**
 * The registry's keys, shared with the leaderboard (store/leaderboard.ts), which writes a
 * player's hash and the join-time index together with its own set in one script.
 */
export function registryKeys(keyPrefix: string) {
  const key = keyspace(keyPrefix);
  return {
    player: (userHash: string) => key('player', userHash),
    byJoinTime: key('players', 'by-join-time'),
  };
}

/** The field that held the raw chat id before; removed whenever a player registers. */
export const LEGACY_RAW_CHAT_ID = 'chatId';

export function createPlayerRegistry(redis: RedisClient, keyPrefix: string) {
  const { player: playerKey, byJoinTime } = registryKeys(keyPrefix);

  return {
    /** Idempotent: a second registration keeps the first join time. */
    async register(player: PlayerRegistration) {
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
        notifications: fields.notifications !== '0',
        displayName: fields.displayName || null,
      };
    },

    async count(): Promise<number> {
      return redis.zCard(byJoinTime);
    },

    /**
     * The player's "Farmer #n": their 1-based place in the order farms joined (ties by userHash).
     * Null when the registry does not know them.
     */
    async farmerNumber(userHash: string): Promise<number | null> {
      const rank = await redis.zRank(byJoinTime, userHash);
      return rank === null ? null : rank + 1;
    },
  };
}

export type PlayerRegistry = ReturnType<typeof createPlayerRegistry>;
