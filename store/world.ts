/**
 * World state: the market the market tick publishes and the calendar events running now, written
 * by the scheduled workflows' activities and read for every message (then passed into the farm's
 * updates). One Redis hash, `<prefix>world`:
 *
 * - `marketMultiplier`, `eventMultiplier`, `eventName`: the first version's fields, read when
 *   present (nothing writes them but `write()`);
 * - `market` (a MarketState as JSON) and `marketTick` (its tick, compared atomically): the newest
 *   tick wins, so a retried or duplicated tick never steps the market twice or back;
 * - `event:<event id>`: a running event with the run that added it; only that run removes it;
 * - `restoredAtMs`: when this Redis's world was last rebuilt from Temporal. Redis is cheap to lose:
 *   when the field is missing (a new Redis, or one that lost its data), the first read rebuilds the
 *   market and the running events from Temporal (see `restore` below) and sets it.
 *
 * Absent or malformed values read as neutral (multipliers 1, no market, no event). An event whose
 * end time has passed is ignored even if its entry is still there: its workflow removes it at its
 * end, but when every worker is down then, the removal waits for a worker, and players must not
 * keep the event's prices meanwhile.
 */
import {
  type ActiveEvent,
  CROP_IDS,
  isCropId,
  type MarketFactors,
  type MarketState,
  marketFactor,
  marketSeed,
  NEUTRAL_WORLD,
  sanitizeMultiplier,
  type WorldState,
} from '../game';
import type { Logger } from '../infra/logging';
import type { WorldEventEntry } from '../workflows/contract';
import type { RedisClient } from './redis';
import { keyspace } from './redis';

/** What Temporal says the world is: the last tick's market and the events running now. */
export interface RestoredWorld {
  market: MarketState | null;
  events: WorldEventEntry[];
}

export interface WorldStoreOptions {
  /**
   * Rebuilds world state from Temporal (activities/world.ts `worldFromTemporal`). Without it, a
   * world Redis lost reads as neutral until the schedules write it again.
   */
  restore?: () => Promise<RestoredWorld>;
  /** The longest `read()` waits for a rebuild before answering with what Redis holds. */
  restoreWaitMs?: number;
  /**
   * One rebuild at a time for every process sharing this Redis: the others read what Redis holds
   * meanwhile, and a rebuild that failed is tried again after this long.
   */
  restoreLockMs?: number;
  logger?: Logger;
}

/** A message's read waits this long at most for a rebuild (it runs once per Redis loss). */
export const DEFAULT_RESTORE_WAIT_MS = 1_500;
export const DEFAULT_RESTORE_LOCK_MS = 15_000;

const MARKET_FIELD = 'market';
const MARKET_TICK_FIELD = 'marketTick';
const RESTORED_FIELD = 'restoredAtMs';
const EVENT_FIELD_PREFIX = 'event:';

/** Publishes the market unless the stored tick is the same or newer. */
const PUBLISH_MARKET_SCRIPT = `
local stored = tonumber(redis.call('HGET', KEYS[1], '${MARKET_TICK_FIELD}'))
if stored and stored >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], '${MARKET_TICK_FIELD}', ARGV[1], '${MARKET_FIELD}', ARGV[2])
return 1
`;

/** Adds the event unless the stored entry of that id is a run that started later. */
const ADD_EVENT_SCRIPT = `
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if stored then
  local ok, entry = pcall(cjson.decode, stored)
  if ok and type(entry) == 'table' and type(entry.event) == 'table' then
    local startedAt = tonumber(entry.event.startedAtMs)
    if startedAt and startedAt > tonumber(ARGV[2]) then return 0 end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
`;

/** Removes the event only if the run that asks still owns the entry. */
const REMOVE_EVENT_SCRIPT = `
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if not stored then return 0 end
local ok, entry = pcall(cjson.decode, stored)
if ok and type(entry) == 'table' and entry.runId == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
`;

export class InvalidWorldWriteError extends Error {
  override name = 'InvalidWorldWriteError';
}

export function createWorldStore(
  redis: RedisClient,
  keyPrefix: string,
  options: WorldStoreOptions = {},
) {
  const key = keyspace(keyPrefix);
  const worldKey = key('world');
  const restoreLockKey = key('world', 'restoring');
  const restoreWaitMs = options.restoreWaitMs ?? DEFAULT_RESTORE_WAIT_MS;
  const restoreLockMs = options.restoreLockMs ?? DEFAULT_RESTORE_LOCK_MS;
  /** This process's rebuild in flight: concurrent reads share it. */
  let restoring: Promise<boolean> | undefined;

  const publishMarket = async (market: MarketState): Promise<boolean> => {
    const checked = parseMarket(market);
    if (!checked) throw new InvalidWorldWriteError(`Not a market state: ${JSON.stringify(market)}`);
    const published = await redis.eval(PUBLISH_MARKET_SCRIPT, {
      keys: [worldKey],
      arguments: [String(checked.tick), JSON.stringify(checked)],
    });
    return published === 1;
  };

  const addEvent = async (entry: WorldEventEntry): Promise<boolean> => {
    const checked = parseWorldEventEntry(entry);
    if (!checked) throw new InvalidWorldWriteError(`Not a running event: ${JSON.stringify(entry)}`);
    const added = await redis.eval(ADD_EVENT_SCRIPT, {
      keys: [worldKey],
      arguments: [
        EVENT_FIELD_PREFIX + checked.event.id,
        String(checked.event.startedAtMs),
        JSON.stringify(checked),
      ],
    });
    return added === 1;
  };

  /**
   * Writes what Temporal says into Redis with the same guards as the workflows' writes (a newer
   * tick or a later run already there wins), then marks the world restored.
   */
  const restoreNow = async (): Promise<void> => {
    if (!options.restore) return;
    const restored = await options.restore();
    if (restored.market) await publishMarket(restored.market);
    const nowMs = Date.now();
    for (const entry of restored.events) {
      if (entry.event.endsAtMs > nowMs) await addEvent(entry);
    }
    await redis.hSet(worldKey, RESTORED_FIELD, String(Date.now()));
    options.logger?.info(
      { tick: restored.market?.tick ?? null, events: restored.events.map((e) => e.event.id) },
      'world state rebuilt from Temporal',
    );
  };

  /** Rebuilds unless another process holds the lock; false when it did not rebuild. */
  const restoreOnce = (): Promise<boolean> => {
    restoring ??= (async () => {
      const locked = await redis.set(restoreLockKey, String(Date.now()), {
        condition: 'NX',
        expiration: { type: 'PX', value: restoreLockMs },
      });
      if (locked !== 'OK') return false;
      // The lock is left to expire on failure, so a failing Temporal is asked once per lock period.
      await restoreNow();
      return true;
    })()
      .catch((err: unknown) => {
        options.logger?.warn({ err }, 'world state could not be rebuilt from Temporal');
        return false;
      })
      .finally(() => {
        restoring = undefined;
      });
    return restoring;
  };

  const readFields = () => redis.hGetAll(worldKey);

  return {
    /**
     * The world now. When Redis lost it, the first read rebuilds it from Temporal (one process at
     * a time) and waits at most `restoreWaitMs` for that, then answers with what Redis holds
     * (neutral when nothing): a lost world never costs every message a visibility query.
     *
     * `waitForRestore`: rebuild now, without lock or bound, and fail if that fails (the market
     * tick must step from the last market, never from a neutral one).
     */
    async read(readOptions: { waitForRestore?: boolean } = {}): Promise<WorldState> {
      const fields = await readFields();
      if (fields[RESTORED_FIELD] !== undefined || !options.restore) return parseWorld(fields);
      if (readOptions.waitForRestore) {
        await restoreNow();
        return parseWorld(await readFields());
      }
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), restoreWaitMs);
      });
      const restored = await Promise.race([restoreOnce(), bound]).finally(() =>
        clearTimeout(timer),
      );
      return parseWorld(restored ? await readFields() : fields);
    },

    /**
     * Publishes a market tick unless world state already holds this tick or a newer one (a
     * retried or duplicated tick, or a late one). True if it was published.
     */
    publishMarket,

    /** Adds a running event unless world state holds a run of it that started later. */
    addEvent,

    /** Removes the event if `runId` still owns its entry (a later run's entry stays). */
    async removeEvent(eventId: string, runId: string): Promise<boolean> {
      const removed = await redis.eval(REMOVE_EVENT_SCRIPT, {
        keys: [worldKey],
        arguments: [EVENT_FIELD_PREFIX + eventId, runId],
      });
      return removed === 1;
    },

    /** Writes the first version's fields (kept for tests and tools that set a world by hand). */
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

/**
 * The world a hash holds at `nowMs`. `market` and `events` are left out when there are none, so a
 * world nothing wrote equals NEUTRAL_WORLD (and adds nothing to the farms' histories).
 */
export function parseWorld(fields: Record<string, string>, nowMs = Date.now()): WorldState {
  const world: WorldState = {
    marketMultiplier: sanitizeMultiplier(
      Number(fields.marketMultiplier ?? NEUTRAL_WORLD.marketMultiplier),
    ),
    eventMultiplier: sanitizeMultiplier(
      Number(fields.eventMultiplier ?? NEUTRAL_WORLD.eventMultiplier),
    ),
    eventName: fields.eventName || null,
  };
  const market = parseMarket(parseJson(fields[MARKET_FIELD]));
  if (market) world.market = market;
  const events = Object.entries(fields)
    .filter(([field]) => field.startsWith(EVENT_FIELD_PREFIX))
    .map(([, value]) => parseWorldEventEntry(parseJson(value))?.event)
    .filter((event): event is ActiveEvent => event !== undefined && event.endsAtMs > nowMs)
    .sort((a, b) => a.startedAtMs - b.startedAtMs || a.id.localeCompare(b.id));
  if (events.length > 0) world.events = events;
  return world;
}

function parseJson(value: string | undefined): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A well-formed market, or null. Factors are sanitized one by one (a bad one reads as 1). */
export function parseMarket(value: unknown): MarketState | null {
  if (!isRecord(value) || !isRecord(value.factors)) return null;
  const { tick } = value;
  if (typeof tick !== 'number' || !Number.isSafeInteger(tick) || tick < 0) return null;
  const factorsOf = (raw: Record<string, unknown>) =>
    Object.fromEntries(
      CROP_IDS.map((id) => [id, marketFactor(raw as Partial<MarketFactors>, id)]),
    ) as MarketFactors;
  const seed = marketSeed(value.seed);
  return {
    tick,
    factors: factorsOf(value.factors),
    previousFactors: isRecord(value.previousFactors) ? factorsOf(value.previousFactors) : null,
    ...(seed === undefined ? {} : { seed }),
  };
}

/** A well-formed running event, or null (a malformed one must never change a price). */
export function parseWorldEventEntry(value: unknown): WorldEventEntry | null {
  if (!isRecord(value) || typeof value.runId !== 'string' || value.runId === '') return null;
  const event = parseActiveEvent(value.event);
  return event && { event, runId: value.runId };
}

export function parseActiveEvent(value: unknown): ActiveEvent | null {
  if (!isRecord(value) || !isRecord(value.effect)) return null;
  const { id, name, startedAtMs, endsAtMs } = value;
  const { saleMultiplier, crops } = value.effect;
  if (typeof id !== 'string' || id === '' || typeof name !== 'string') return null;
  if (typeof startedAtMs !== 'number' || !Number.isFinite(startedAtMs)) return null;
  if (typeof endsAtMs !== 'number' || !Number.isFinite(endsAtMs)) return null;
  if (typeof saleMultiplier !== 'number' || !Number.isFinite(saleMultiplier) || saleMultiplier <= 0)
    return null;
  // An event whose crop list is unreadable applies to nothing rather than to every crop.
  if (crops !== undefined && !Array.isArray(crops)) return null;
  return {
    id,
    name,
    effect: {
      saleMultiplier,
      ...(Array.isArray(crops) ? { crops: crops.filter((crop) => isCropId(crop)) } : {}),
    },
    startedAtMs,
    endsAtMs,
  };
}
