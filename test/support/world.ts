/**
 * For the world state tests: run the scheduled workflows the way their schedules start them (same
 * type, arguments and task queue), read world state, and give a player crops to sell.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { CropId, MarketState } from '../../game';
import { createWorldStore } from '../../store/world';
import {
  type CalendarEventInput,
  type CalendarEventOutcome,
  type MainMenuScreen,
  type MarketTickResult,
  WORKFLOW_TYPES,
} from '../../workflows/contract';
import { newPlayer, nextUpdateId, sleepMs, type TestGame } from './game';

/** The world store as the game reads it (no rebuild: the tests look at what Redis holds). */
export const worldStore = (g: TestGame) => createWorldStore(g.redis, g.keyPrefix);

/** Raw: the world hash as Redis holds it. */
export const worldHash = (g: TestGame) => g.redis.hGetAll(`${g.keyPrefix}world`);

/** What a Redis loss does to this game's world state. */
export const loseWorld = (g: TestGame) =>
  g.redis.del([`${g.keyPrefix}world`, `${g.keyPrefix}world:restoring`]);

export function runMarketTick(g: TestGame): Promise<MarketTickResult> {
  return g.t.client.workflow.execute<() => Promise<MarketState>>(WORKFLOW_TYPES.marketTick, {
    taskQueue: g.gameTaskQueue,
    workflowId: `market-tick-${randomUUID()}`,
    args: [],
  });
}

export function startCalendarEvent(
  g: TestGame,
  input: CalendarEventInput,
): Promise<
  WorkflowHandleWithFirstExecutionRunId<
    (input: CalendarEventInput) => Promise<CalendarEventOutcome>
  >
> {
  return g.t.client.workflow.start<(input: CalendarEventInput) => Promise<CalendarEventOutcome>>(
    WORKFLOW_TYPES.calendarEvent,
    {
      taskQueue: g.gameTaskQueue,
      workflowId: `event-${input.eventId}-${randomUUID()}`,
      args: [input],
    },
  );
}

export function eventInput(overrides: Partial<CalendarEventInput> = {}): CalendarEventInput {
  return {
    eventId: 'harvest-fair',
    name: 'Friday harvest fair',
    effect: { saleMultiplier: 2 },
    durationMs: 3_000,
    announcement: 'Everything sells for double!',
    ...overrides,
  };
}

export type Act = (
  intent: Parameters<TestGame['game']['handleIntent']>[1],
) => Promise<MainMenuScreen>;

/** A new player with `harvests` harvests of wheat in the barn (3 wheat each). */
export async function playerWithWheat(g: TestGame, harvests: number) {
  const player = newPlayer();
  const act: Act = async (intent) =>
    (await g.game.handleIntent(player, intent, nextUpdateId())).screen;
  let readyAtMs = 0;
  for (let plotId = 0; plotId < harvests; plotId++) {
    const planted = await act({
      type: 'message',
      action: { type: 'plant', plotId, cropId: 'wheat' },
    });
    if (planted.kind !== 'actionDone' || planted.event.type !== 'planted')
      throw new Error(`could not plant: ${JSON.stringify(planted)}`);
    readyAtMs = Math.max(readyAtMs, planted.event.readyAtMs);
  }
  await sleepMs(readyAtMs - Date.now() + 50);
  for (let plotId = 0; plotId < harvests; plotId++) {
    const harvested = await act({ type: 'message', action: { type: 'harvest', plotId } });
    if (harvested.kind !== 'actionDone')
      throw new Error(`could not harvest: ${JSON.stringify(harvested)}`);
  }
  return { player, act };
}

/** Sells one unit at the quoted price; the screen says whether it was paid. */
export const sellOne = (act: Act, cropId: CropId, unitPrice: number) =>
  act({ type: 'message', action: { type: 'sell', cropId, quantity: 1, unitPrice } });
