import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGameClient, GameBusyError } from '../../bot/game-client';
import { mainMenuWorkflowId } from '../../workflows/contract';
import {
  newPlayer,
  nextUpdateId,
  sleepMs,
  startTestGame,
  TEST_SECRET,
  type TestGame,
} from '../support/game';

/** Every main-menu activity call, while it runs: how many at once, and who came in which order. */
const running = { now: 0, most: 0, order: [] as string[] };

describe('the game client admits a bounded number of intents at once, first come first served', () => {
  let g: TestGame;
  beforeAll(async () => {
    g = await startTestGame({
      wrapMainMenuActivities: (activities) => ({
        ...activities,
        async readFarm(player) {
          running.now += 1;
          running.most = Math.max(running.most, running.now);
          running.order.push(player.userHash);
          try {
            // Long enough that intents admitted together overlap here.
            await sleepMs(200);
            return await activities.readFarm(player);
          } finally {
            running.now -= 1;
          }
        },
      }),
    });
  });
  afterAll(() => g.close());

  const showAll = async (game: TestGame['game'], players: ReturnType<typeof newPlayer>[]) => {
    running.most = 0;
    running.order = [];
    const results = await Promise.all(
      players.map((player) => game.handleIntent(player, { type: 'query' }, nextUpdateId())),
    );
    for (const { screen } of results) expect(screen.kind).toBe('farm');
    return results.map((result) => result.userHash);
  };

  const clientWith = (limits: { maxInFlight: number; maxWaitMs?: number }) =>
    createGameClient({
      client: g.eagerClient,
      userHashSecret: TEST_SECRET,
      taskQueue: g.mainMenuTaskQueue,
      ...limits,
    });

  it('runs at most maxInFlight intents at once and starts the rest in arrival order', async () => {
    const limited = clientWith({ maxInFlight: 2 });
    const players = Array.from({ length: 8 }, () => newPlayer());
    // First contact creates each farm: then every later read is the same short path.
    await showAll(g.game, players);

    const hashes = await showAll(limited, players);
    expect(running.most).toBe(2);
    // Two at a time: neighbours may swap on the way through Temporal, but no intent gets ahead
    // of one that arrived two or more places before it.
    const displacement = hashes.map((hash, arrived) =>
      Math.abs(running.order.indexOf(hash) - arrived),
    );
    expect(Math.max(...displacement)).toBeLessThanOrEqual(1);

    // Without the bound the same eight overlap (so the check above can fail).
    await showAll(g.game, players);
    expect(running.most).toBeGreaterThan(2);
  });

  it('fails an intent that waited longer than maxWaitMs, without starting its workflow', async () => {
    const busy = clientWith({ maxInFlight: 1, maxWaitMs: 50 });
    const [first, second] = [newPlayer(), newPlayer()];
    await showAll(g.game, [first, second]);

    const updateId = nextUpdateId();
    const running = busy.handleIntent(first, { type: 'query' }, nextUpdateId());
    // The first holds the only turn for at least 200 ms (readFarm above).
    await expect(busy.handleIntent(second, { type: 'query' }, updateId)).rejects.toBeInstanceOf(
      GameBusyError,
    );
    expect((await running).screen.kind).toBe('farm');
    // Its turn came and went: nothing was started for it, then or later.
    await sleepMs(300);
    const workflowId = mainMenuWorkflowId(g.game.userHashOf(second.telegramUserId), updateId);
    await expect(g.eagerClient.workflow.getHandle(workflowId).describe()).rejects.toBeInstanceOf(
      WorkflowNotFoundError,
    );
  });
});
