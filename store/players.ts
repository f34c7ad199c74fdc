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

/** Where a page of players ends: the last player's join time and support code. */
export interface PlayerCursor {
  joinedAtMs: number;
  userHash: string;
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

    /** Players who joined before `beforeMs` (join times come from the farms). */
    async countJoinedBefore(beforeMs: number): Promise<number> {
      return redis.zCount(byJoinTime, '-inf', `(${beforeMs}`);
    },

    /**
     * Up to `limit` players who joined before `beforeMs`, in (join time, support code) order,
     * after `after`: a stable cursor, since both come from the farm and a rebuild writes them
     * back the same. (A sorted set orders equal scores by member, so the players who joined in
     * the cursor's millisecond are read first, then those after it.)
     */
    async page(options: {
      after: PlayerCursor | null;
      beforeMs: number;
      limit: number;
    }): Promise<PlayerCursor[]> {
      const { after, beforeMs, limit } = options;
      const players: PlayerCursor[] = [];
      let from = '-inf';
      if (after) {
        const sameTime = await redis.zRangeByScore(byJoinTime, after.joinedAtMs, after.joinedAtMs);
        for (const userHash of sameTime) {
          if (userHash > after.userHash && after.joinedAtMs < beforeMs)
            players.push({ joinedAtMs: after.joinedAtMs, userHash });
        }
        from = `(${after.joinedAtMs}`;
      }
      if (players.length < limit) {
        const rest = await redis.zRangeByScoreWithScores(byJoinTime, from, `(${beforeMs}`, {
          LIMIT: { offset: 0, count: limit - players.length },
        });
        for (const { value, score } of rest) players.push({ joinedAtMs: score, userHash: value });
      }
      return players.slice(0, limit);
    },
  };
}

export type PlayerRegistry = ReturnType<typeof createPlayerRegistry>;
