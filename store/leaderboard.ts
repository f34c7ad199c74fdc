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
 * A restore (ARGV[10] = '1', the backfill's) never overwrites a copy a farm wrote (one with a
 * leaderboard member): the farm publishes every change it makes, so its copy is current, and a
 * copy the backfill read earlier could carry flags the player has changed since (a name they
 * removed). It only puts back what is missing: the player's places in the two sorted sets.
 *
 * KEYS: player hash, leaderboard, registry by join time.
 * ARGV: userHash, sealedChatId, joinedAtMs, xp, xpReachedAtMs, member, displayName ('' = none),
 * notifications, active, restore ('1' or '0').
 */
const WRITE_COPY = `
local stored = redis.call('HMGET', KEYS[1], 'xpReachedAtMs', 'xp', 'leaderboardMember', 'joinedAtMs')
local at, xp = tonumber(ARGV[5]), tonumber(ARGV[4])
if ARGV[10] == '1' and stored[3] then
  redis.call('ZADD', KEYS[3], 'NX', stored[4] or ARGV[3], ARGV[1])
  redis.call('ZADD', KEYS[2], stored[2], stored[3])
  return 0
end
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
 * (`restore`: only what is missing) both write through this. True if written, false if not.
 */
export async function writePlayerCopy(
  redis: RedisClient,
  keyPrefix: string,
  copy: PlayerRecordCopy,
  options: { restore?: boolean } = {},
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
      options.restore ? '1' : '0',
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
  /** Set on the line of the player `top` was asked for (never which id it is). */
  viewer?: true;
}

/** Where a player stands; null rank when they are not on the board (yet). */
export interface LeaderboardStanding {
  rank: number | null;
  xp: number | null;
  total: number;
}

/** What one player sees: the top, and themselves. */
export interface LeaderboardView {
  top: LeaderboardEntry[];
  you: LeaderboardStanding & {
    /** The name Redis shows for them; null when hidden (or not known yet). */
    displayName: string | null;
    /** Their "Farmer #n"; null when the registry does not know them. */
    farmerNumber: number | null;
  };
}

export function createLeaderboard(redis: RedisClient, keyPrefix: string) {
  const board = leaderboardKey(keyPrefix);
  const registry = registryKeys(keyPrefix);

  /**
   * The first `n` players (at most MAX_TOP), best first, with the names they show; the line of
   * `viewer` (a userHash), if any, is marked.
   */
  async function top(n: number, viewer?: string): Promise<LeaderboardEntry[]> {
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
        // Written together with the board, so always there but after a partial loss of keys;
        // then the player's place stands in for the number.
        name: leaderboardName(displayName, joinRank === null ? i + 1 : joinRank + 1),
        xp: line.score,
        ...(userHashes[i] === viewer ? { viewer: true as const } : {}),
      };
    });
  }

  /** The player's place (1-based) among everyone on the board, and how many that is. */
  async function rank(userHash: string): Promise<LeaderboardStanding> {
    const member = await redis.hGet(registry.player(userHash), 'leaderboardMember');
    if (!member) return { rank: null, xp: null, total: await redis.zCard(board) };
    const [place, xp, total] = (await redis
      .multi()
      .zRevRank(board, member)
      .zScore(board, member)
      .zCard(board)
      .exec()) as unknown as [number | null, number | null, number];
    return place === null ? { rank: null, xp: null, total } : { rank: place + 1, xp, total };
  }

  /** The top `n` as `viewer` sees it, with their own place, name and "Farmer #n". */
  async function view(viewer: string, n: number): Promise<LeaderboardView> {
    const [lines, standing, displayName, joinRank] = await Promise.all([
      top(n, viewer),
      rank(viewer),
      redis.hGet(registry.player(viewer), 'displayName'),
      redis.zRank(registry.byJoinTime, viewer),
    ]);
    return {
      top: lines,
      you: {
        ...standing,
        displayName: displayName || null,
        farmerNumber: joinRank === null ? null : joinRank + 1,
      },
    };
  }

  /** The support codes of the first `n` players, best first: for prizes, never shown. */
  async function topUserHashes(n: number): Promise<string[]> {
    const members = await redis.zRange(board, 0, n - 1, { REV: true });
    return members.map(userHashOf);
  }

  return { top, rank, view, topUserHashes };
}

export type Leaderboard = ReturnType<typeof createLeaderboard>;
