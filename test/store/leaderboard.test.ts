/**
 * The leaderboard and Redis's copy of a player, against the real Redis: order by XP, ties to the
 * earlier, a late or retried copy never moves a player back, ranks, and hidden names.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createLogger } from '../../infra/logging';
import { createLeaderboard, writePlayerCopy } from '../../store/leaderboard';
import { createPlayerRegistry, registryKeys } from '../../store/players';
import { connectRedis, keyspace, type RedisClient } from '../../store/redis';
import type { PlayerRecordCopy } from '../../workflows/contract';
import { REDIS_URL } from '../support/constants';

let redis: RedisClient;
const prefix = () => `${inject('redisKeyPrefix')}lb-${randomUUID().slice(0, 8)}:`;

beforeAll(async () => {
  redis = await connectRedis(REDIS_URL, createLogger('warn'));
});
afterAll(() => redis.close());

const T0 = 1_770_000_000_000;

function copy(userHash: string, overrides: Partial<PlayerRecordCopy> = {}): PlayerRecordCopy {
  return {
    userHash,
    sealedChatId: `sealed-${userHash}`,
    joinedAtMs: T0,
    xp: 0,
    xpReachedAtMs: T0,
    displayName: `Name ${userHash}`,
    notifications: true,
    reachable: true,
    ...overrides,
  };
}

describe('leaderboard', () => {
  it('orders players by XP, best first, with their names', async () => {
    const keyPrefix = prefix();
    for (const [userHash, xp] of [
      ['a', 10],
      ['b', 30],
      ['c', 20],
    ] as const) {
      expect(await writePlayerCopy(redis, keyPrefix, copy(userHash, { xp }))).toBe(true);
    }
    const board = createLeaderboard(redis, keyPrefix);
    expect(await board.top(10)).toEqual([
      { rank: 1, name: 'Name b', xp: 30 },
      { rank: 2, name: 'Name c', xp: 20 },
      { rank: 3, name: 'Name a', xp: 10 },
    ]);
    expect(await board.top(2)).toHaveLength(2);
  });

  it('gives a tie to whoever reached the XP first, to the millisecond', async () => {
    const keyPrefix = prefix();
    // Written in the opposite order, and with userHashes that sort the other way.
    await writePlayerCopy(redis, keyPrefix, copy('a-later', { xp: 50, xpReachedAtMs: T0 + 1 }));
    await writePlayerCopy(redis, keyPrefix, copy('z-earlier', { xp: 50, xpReachedAtMs: T0 }));
    await writePlayerCopy(redis, keyPrefix, copy('m-latest', { xp: 50, xpReachedAtMs: T0 + 2 }));
    const board = createLeaderboard(redis, keyPrefix);
    expect((await board.top(10)).map((line) => line.name)).toEqual([
      'Name z-earlier',
      'Name a-later',
      'Name m-latest',
    ]);
    expect(await board.rank('z-earlier')).toEqual({ rank: 1, xp: 50, total: 3 });
    expect(await board.rank('m-latest')).toEqual({ rank: 3, xp: 50, total: 3 });
  });

  it('moves a player when their XP rises, keeping one entry per player', async () => {
    const keyPrefix = prefix();
    await writePlayerCopy(redis, keyPrefix, copy('a', { xp: 20 }));
    await writePlayerCopy(redis, keyPrefix, copy('b', { xp: 10 }));
    await writePlayerCopy(redis, keyPrefix, copy('b', { xp: 25, xpReachedAtMs: T0 + 5 }));
    const board = createLeaderboard(redis, keyPrefix);
    expect(await board.top(10)).toEqual([
      { rank: 1, name: 'Name b', xp: 25 },
      { rank: 2, name: 'Name a', xp: 20 },
    ]);
    expect(await board.rank('a')).toEqual({ rank: 2, xp: 20, total: 2 });
  });

  it('ignores a copy older than the stored one (a retried or late publish)', async () => {
    const keyPrefix = prefix();
    const newer = copy('a', { xp: 40, xpReachedAtMs: T0 + 10, notifications: false });
    expect(await writePlayerCopy(redis, keyPrefix, newer)).toBe(true);
    // Reached earlier: older, whatever it says.
    const late = copy('a', { xp: 30, xpReachedAtMs: T0 + 5, displayName: 'Old' });
    expect(await writePlayerCopy(redis, keyPrefix, late)).toBe(false);
    // Same time, less XP (two actions in one workflow activation): older too.
    const sameTime = copy('a', { xp: 35, xpReachedAtMs: T0 + 10 });
    expect(await writePlayerCopy(redis, keyPrefix, sameTime)).toBe(false);
    // The same copy again (a retry) is written: no harm, no second entry.
    expect(await writePlayerCopy(redis, keyPrefix, newer)).toBe(true);

    const board = createLeaderboard(redis, keyPrefix);
    expect(await board.top(10)).toEqual([{ rank: 1, name: 'Name a', xp: 40 }]);
    const record = await createPlayerRegistry(redis, keyPrefix).get('a');
    expect(record).toMatchObject({ notifications: false, displayName: 'Name a' });
  });

  it('a restore (the backfill) puts back only what is missing, never over a copy a farm wrote', async () => {
    const keyPrefix = prefix();
    const registry = createPlayerRegistry(redis, keyPrefix);
    const board = createLeaderboard(redis, keyPrefix);
    // The farm's copy: the player has hidden their name and turned notifications off.
    const current = copy('a', { xp: 40, displayName: null, notifications: false });
    expect(await writePlayerCopy(redis, keyPrefix, current)).toBe(true);
    // The two sorted sets are lost; the player's hash is not.
    const sets = [keyspace(keyPrefix)('leaderboard', 'xp'), registryKeys(keyPrefix).byJoinTime];
    expect(await redis.exists(sets)).toBe(2);
    await redis.del(sets);
    expect(await board.top(10)).toEqual([]);

    // The backfill's copy, read before the player changed their mind: same XP, old flags.
    const earlier = copy('a', { xp: 40, displayName: 'Alice', notifications: true });
    expect(await writePlayerCopy(redis, keyPrefix, earlier, { restore: true })).toBe(false);
    expect(await registry.get('a')).toMatchObject({ displayName: null, notifications: false });
    expect(await board.top(10)).toEqual([{ rank: 1, name: 'Farmer #1', xp: 40 }]);
    expect(await registry.count()).toBe(1);

    // A player with no copy at all is written whole.
    expect(await writePlayerCopy(redis, keyPrefix, copy('b', { xp: 5 }), { restore: true })).toBe(
      true,
    );
    expect(await registry.get('b')).toMatchObject({ displayName: 'Name b', notifications: true });
  });

  it('writes flags that change without XP (same version)', async () => {
    const keyPrefix = prefix();
    await writePlayerCopy(redis, keyPrefix, copy('a', { xp: 5 }));
    await writePlayerCopy(redis, keyPrefix, copy('a', { xp: 5, reachable: false }));
    expect(await createPlayerRegistry(redis, keyPrefix).get('a')).toEqual({
      userHash: 'a',
      sealedChatId: 'sealed-a',
      active: false,
      joinedAtMs: T0,
      notifications: true,
      displayName: 'Name a',
    });
  });

  it('shows "Farmer #n" (n: order of joining) for a player who hides their name', async () => {
    const keyPrefix = prefix();
    await writePlayerCopy(redis, keyPrefix, copy('first', { xp: 1, joinedAtMs: T0 }));
    await writePlayerCopy(redis, keyPrefix, copy('second', { xp: 9, joinedAtMs: T0 + 1 }));
    await writePlayerCopy(
      redis,
      keyPrefix,
      copy('second', { xp: 9, joinedAtMs: T0 + 1, displayName: null }),
    );
    const board = createLeaderboard(redis, keyPrefix);
    expect(await board.top(10)).toEqual([
      { rank: 1, name: 'Farmer #2', xp: 9 },
      { rank: 2, name: 'Name first', xp: 1 },
    ]);
    const registry = createPlayerRegistry(redis, keyPrefix);
    expect(await registry.farmerNumber('second')).toBe(2);
    expect(await registry.farmerNumber('nobody')).toBeNull();
    // The name is gone from Redis, not merely not shown.
    expect(await redis.hGet(`${keyPrefix}player:second`, 'displayName')).toBeNull();
  });

  it('registers the player and keeps the first join time', async () => {
    const keyPrefix = prefix();
    const registry = createPlayerRegistry(redis, keyPrefix);
    await registry.register({ userHash: 'a', sealedChatId: 'sealed-a', joinedAtMs: T0 - 100 });
    await writePlayerCopy(redis, keyPrefix, copy('a', { xp: 3 }));
    expect(await registry.get('a')).toMatchObject({ joinedAtMs: T0 - 100, active: true });
    expect(await registry.count()).toBe(1);
  });

  it("marks the viewer's line and gives their place, name and farmer number", async () => {
    const keyPrefix = prefix();
    await writePlayerCopy(redis, keyPrefix, copy('a', { xp: 9, joinedAtMs: T0 }));
    await writePlayerCopy(redis, keyPrefix, copy('b', { xp: 5, joinedAtMs: T0 + 1 }));
    await writePlayerCopy(redis, keyPrefix, copy('c', { xp: 1, joinedAtMs: T0 + 2 }));
    const view = await createLeaderboard(redis, keyPrefix).view('b', 2);
    expect(view).toEqual({
      top: [
        { rank: 1, name: 'Name a', xp: 9 },
        { rank: 2, name: 'Name b', xp: 5, viewer: true },
      ],
      you: { rank: 2, xp: 5, total: 3, displayName: 'Name b', farmerNumber: 2 },
    });
    expect((await createLeaderboard(redis, keyPrefix).view('c', 2)).you).toMatchObject({
      rank: 3,
      farmerNumber: 3,
    });
  });

  it('answers an unknown player and an empty board', async () => {
    const board = createLeaderboard(redis, prefix());
    expect(await board.top(10)).toEqual([]);
    expect(await board.rank('nobody')).toEqual({ rank: null, xp: null, total: 0 });
  });

  it('refuses a malformed copy or request with a clear error', async () => {
    const keyPrefix = prefix();
    await expect(writePlayerCopy(redis, keyPrefix, copy('a', { xp: 1.5 }))).rejects.toThrow(
      /xp must be a whole number/,
    );
    await expect(writePlayerCopy(redis, keyPrefix, copy('a', { xp: -1 }))).rejects.toThrow(
      RangeError,
    );
    await expect(createLeaderboard(redis, keyPrefix).top(0)).rejects.toThrow(/top\(n\)/);
  });
});
