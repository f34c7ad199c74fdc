/**
 * The game client never waits without a bound: a per-message workflow that does not answer in
 * time fails the intent with IntentTimeoutError (the update is delivered again), yet runs on and
 * ends Completed once it can, and the redelivery is answered from its result. The update's
 * deadline ends the wait too. Real dev server and Redis; the farm read is held back on purpose.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGameClient, IntentTimeoutError } from '../../bot/game-client';
import { UpdateAbandonedError, withDeadline } from '../../bot/update-deadline';
import { mainMenuWorkflowId } from '../../workflows/contract';
import { userHash } from '../../infra/identity';
import {
  newPlayer,
  nextUpdateId,
  sleepMs,
  startTestGame,
  TEST_SECRET,
  type TestGame,
} from '../support/game';

/** Farm reads of these players wait until released. */
const held = new Map<string, Promise<void>>();
const release = new Map<string, () => void>();
const hold = (hash: string) =>
  held.set(hash, new Promise<void>((resolve) => release.set(hash, resolve)));

describe('the game client bounds its waits', () => {
  let g: TestGame;
  beforeAll(async () => {
    g = await startTestGame({
      wrapMainMenuActivities: (activities) => ({
        ...activities,
        async readFarm(player) {
          await held.get(player.userHash);
          return activities.readFarm(player);
        },
      }),
    });
  });
  afterAll(async () => {
    for (const go of release.values()) go();
    await g?.close();
  });

  const client = (resultTimeoutMs: number) =>
    createGameClient({
      client: g.eagerClient,
      userHashSecret: TEST_SECRET,
      taskQueue: g.mainMenuTaskQueue,
      earlyAnswers: undefined,
      resultTimeoutMs,
    });

  it('gives up on a result after its bound; the workflow completes later and answers the redelivery', async () => {
    const player = newPlayer();
    const hash = userHash(player.telegramUserId, TEST_SECRET);
    hold(hash);
    const updateId = nextUpdateId();
    const game = client(1_000);

    const started = Date.now();
    const first = game.handleIntent(player, { type: 'query' }, updateId);
    const failure = first.catch((err: unknown) => err);
    // Released well after the bound: a client without one would get the screen then.
    setTimeout(() => release.get(hash)!(), 8_000);
    expect(await failure).toBeInstanceOf(IntentTimeoutError);
    expect(Date.now() - started).toBeLessThan(6_000);

    const handle = g.eagerClient.workflow.getHandle(mainMenuWorkflowId(hash, updateId));
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await handle.result();
    expect((await handle.describe()).status.name).toBe('COMPLETED');

    const again = await game.handleIntent(player, { type: 'query' }, updateId);
    expect(again.duplicate).toBe(true);
    expect(again.screen.kind).toBe('farm');
  }, 60_000);

  it("ends every wait at the update's deadline", async () => {
    const player = newPlayer();
    const hash = userHash(player.telegramUserId, TEST_SECRET);
    hold(hash);
    const game = client(30_000);
    const started = Date.now();
    const abandoned = withDeadline(500, () =>
      game.handleIntent(player, { type: 'query' }, nextUpdateId()),
    ).catch((err: unknown) => err);
    expect(await abandoned).toBeInstanceOf(UpdateAbandonedError);
    expect(Date.now() - started).toBeLessThan(5_000);
    release.get(hash)!();
    await sleepMs(100);
  }, 30_000);
});
