/**
 * MarketTickWorkflow: one step of the market, started by the market tick schedule. It reads the
 * market from world state, computes the next one here (a seeded walk: game/market.ts), publishes
 * it and returns it, so every tick's market stays in Temporal (the world's rebuild after a Redis
 * loss reads the last one). Its cost does not depend on the number of players.
 *
 * A retried or duplicated tick never steps the market twice: the next market depends only on the
 * current one, and world state takes a tick only if it is newer than the one it holds.
 */
import { log, proxyActivities } from '@temporalio/workflow';
import type { MarketTickResult, WorldActivities } from './contract';
import { nextMarket } from '../game';

const { readMarket, publishMarket } = proxyActivities<WorldActivities>({
  startToCloseTimeout: '10s',
  // The schedule's execution timeout (one interval) bounds the retries.
  retry: { initialInterval: '200ms', maximumInterval: '5s' },
});

export async function MarketTickWorkflow(): Promise<MarketTickResult> {
  // A world's first tick draws its walk's seed (workflow randomness: replays draw the same).
  const market = nextMarket(await readMarket(), Math.floor(Math.random() * 0x100000000));
  const published = await publishMarket(market);
  if (published) log.info('market ticked', { tick: market.tick });
  else log.warn('world state already holds this tick or a newer one', { tick: market.tick });
  return market;
}
