/**
 * The leaderboard: players by XP, ties to whoever reached the XP first, and Redis's copy of each
 * player (registry entry, name, preferences, reachability) that farms publish and the backfill
 * rebuilds, both through `writePlayerCopy`.
 *
 * One sorted set, score = XP. Its member is `<15-digit (MAX_TIME_MS - xpReachedAtMs)>|<userHash>`:
 * among equal scores ZREVRANGE orders members by descending text, so the earlier time comes
 * first. The player's hash keeps the current member so one script swaps it atomically.
 */
import { leaderboardName } from '../game/profile';
import type { PlayerRecordCopy } from '../workflows/contract';
import { keyspace, type RedisClient } from './redis';
import { LEGACY_RAW_CHAT_ID, registryKeys } from './players';

/** The largest time a member can encode (year 33658): 15 digits. */
const MAX_TIME_MS = 999_999_999_999_999;
const TIME_DIGITS = 15;

/** How many players `top` answers at most. */
export const MAX_TOP = 100;

/** The sorted-set member of a player who reached their XP at `xpReachedAtMs`. */
export function leaderboardMember(userHash: string, xpReachedAtMs: number): string {
  const sinceAt = String(MAX_TIME_MS - xpReachedAtMs).padStart(TIME_DIGITS, '0');
  return `${sinceAt}|${userHash}`;
}

function userHashOf(member: string): string {
  return member.slice(member.indexOf('|') + 1);
}

/**
 * Writes the whole copy unless the stored one is newer: a copy is older when it reached its XP
 * earlier (or at the same time with less XP), so a retried or late publish never moves a player
 * back. A copy as new as the stored one is written (its flags may have changed).
 *
 * KEYS: player hash, leaderboard, registry by join time.
 * ARGV: userHash, sealedChatId, joinedAtMs, xp, xpReachedAtMs, member, displayName ('' = none),
 * notifications, active.
 */
const WRITE_COPY = `
local stored = redis.call('HMGET', KEYS[1], 'xpReachedAtMs', 'xp', 'leaderboardMember')
local at, xp = tonumber(ARGV[5]), tonumber(ARGV[4])
if stored[1] then
  local storedAt, storedXp = tonumber(stored[1]), tonumber(stored[2])
  if storedAt > at or (storedAt == at and storedXp > xp) then return 0 end
end
redis.call('HSET', KEYS[1], 'sealedChatId', ARGV[2], 'xp', ARGV[4], 'xpReachedAtMs', ARGV[5],
  'leaderboardMember', ARGV[6], 'notifications', ARGV[8], 'active', ARGV[9])
if ARGV[7] == '' then
  redis.call('HDEL', KEYS[1], 'displayName', '${LEGACY_RAW_CHAT_ID}')
else
  redis.call('HSET', KEYS[1], 'displayName', ARGV[7])
  redis.call('HDEL', KEYS[1], '${LEGACY_RAW_CHAT_ID}')
end
redis.call('HSETNX', KEYS[1], 'joinedAtMs', ARGV[3])
redis.call('ZADD', KEYS[3], 'NX', ARGV[3], ARGV[1])
if stored[3] and stored[3] ~= ARGV[6] then redis.call('ZREM', KEYS[2], stored[3]) end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[6])
return 1
`;

function leaderboardKey(keyPrefix: string): string {
  return keyspace(keyPrefix)('leaderboard', 'xp');
}

/**
 * Writes a player's whole copy into Redis — registry entry (sealed chat id; join time if
 * missing), leaderboard place, shown name, notifications and reachability — in one atomic step,
 * unless Redis already holds a newer one. The farm's `publishPlayer` activity and the backfill
 * both write through this. True if written, false if the stored copy was newer.
 */
export async function writePlayerCopy(
  redis: RedisClient,
  keyPrefix: string,
  copy: PlayerRecordCopy,
): Promise<boolean> {
  for (const [field, value] of [
    ['xp', copy.xp],
    ['xpReachedAtMs', copy.xpReachedAtMs],
    ['joinedAtMs', copy.joinedAtMs],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0 || value > MAX_TIME_MS) {
      throw new RangeError(`player copy's ${field} must be a whole number from 0, got ${value}`);
    }
  }
  if (copy.userHash === '' || copy.sealedChatId === '') {
    throw new RangeError("player copy's userHash and sealedChatId must not be empty");
  }
  const keys = registryKeys(keyPrefix);
  const written = await redis.eval(WRITE_COPY, {
    keys: [keys.player(copy.userHash), leaderboardKey(keyPrefix), keys.byJoinTime],
    arguments: [
      copy.userHash,
      copy.sealedChatId,
      String(copy.joinedAtMs),
      String(copy.xp),
      String(copy.xpReachedAtMs),
      leaderboardMember(copy.userHash, copy.xpReachedAtMs),
      copy.displayName ?? '',
      copy.notifications ? '1' : '0',
      copy.reachable ? '1' : '0',
    ],
  });
  return written === 1;
}

/** A line of the board: never an id, only what players may see of each other. */
export interface LeaderboardEntry {
  /** 1-based. */
  rank: number;
  /** The shown name, or "Farmer #n". */
  name: string;
  xp: number;
}

/** Where a player stands; null rank when they are not on the board (yet). */
export interface LeaderboardStanding {
  rank: number | null;
  xp: number | null;
  total: number;
}

export function createLeaderboard(redis: RedisClient, keyPrefix: string) {
  const board = leaderboardKey(keyPrefix);
  const registry = registryKeys(keyPrefix);

  return {
    /** The first `n` players (at most MAX_TOP), best first, with the names they show. */
    async top(n: number): Promise<LeaderboardEntry[]> {
      if (!Number.isInteger(n) || n < 1 || n > MAX_TOP) {
        throw new RangeError(`top(n) takes a whole n from 1 to ${MAX_TOP}, got ${n}`);
      }
      const lines = await redis.zRangeWithScores(board, 0, n - 1, { REV: true });
      if (lines.length === 0) return [];
      const userHashes = lines.map((line) => userHashOf(line.value));
      const details = redis.multi();
      for (const userHash of userHashes) {
        details.hGet(registry.player(userHash), 'displayName');
        details.zRank(registry.byJoinTime, userHash);
      }
      const replies = (await details.exec()) as unknown as (string | number | null)[];
      return lines.map((line, i) => {
        const displayName = (replies[2 * i] as string | null) || null;
        const joinRank = replies[2 * i + 1] as number | null;
        return {
          rank: i + 1,
          // A player missing from the join index (a partial loss) still gets a number: their place.
          name: leaderboardName(displayName, joinRank === null ? i + 1 : joinRank + 1),
          xp: line.score,
        };
      });
    },

    /** The player's place (1-based) among everyone on the board, and how many that is. */
    async rank(userHash: string): Promise<LeaderboardStanding> {
      const member = await redis.hGet(registry.player(userHash), 'leaderboardMember');
      if (!member) return { rank: null, xp: null, total: await redis.zCard(board) };
      const [rank, xp, total] = (await redis
        .multi()
        .zRevRank(board, member)
        .zScore(board, member)
        .zCard(board)
        .exec()) as unknown as [number | null, number | null, number];
      return rank === null ? { rank: null, xp: null, total } : { rank: rank + 1, xp, total };
    },
  };
}

export type Leaderboard = ReturnType<typeof createLeaderboard>;
