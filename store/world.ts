/**
 * World state (market prices, the active event): written by schedules, read per message and
 * passed into the farm's updates. Absent or malformed values mean a neutral world (1.0).
 */
import { NEUTRAL_WORLD, sanitizeMultiplier, type WorldState } from '../game';
import type { RedisClient } from './redis';
import { keyspace } from './redis';

export function createWorldStore(redis: RedisClient, keyPrefix: string) {
  const worldKey = keyspace(keyPrefix)('world');
  return {
    async read(): Promise<WorldState> {
      const fields = await redis.hGetAll(worldKey);
      return {
        marketMultiplier: sanitizeMultiplier(
          Number(fields.marketMultiplier ?? NEUTRAL_WORLD.marketMultiplier),
        ),
        eventMultiplier: sanitizeMultiplier(
          Number(fields.eventMultiplier ?? NEUTRAL_WORLD.eventMultiplier),
        ),
        eventName: fields.eventName || null,
      };
    },
    async write(world: WorldState): Promise<void> {
      await redis.hSet(worldKey, {
        marketMultiplier: String(world.marketMultiplier),
        eventMultiplier: String(world.eventMultiplier),
        eventName: world.eventName ?? '',
      });
    },
  };
}

export type WorldStore = ReturnType<typeof createWorldStore>;
