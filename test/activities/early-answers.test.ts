/**
 * Early answers: the per-message workflow's local activity hands its screen to the callers in
 * this process before the workflow completes. Two deliveries of one update that arrive at the
 * same moment (Telegram retrying a webhook it thought timed out) both wait on one workflow id.
 * The second half runs on the run's Temporal dev server with the real game client and workers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEarlyAnswers } from '../../activities/early-answers';
import { mainMenuWorkflowId, type MainMenuScreen } from '../../workflows/contract';
import { newPlayer, nextUpdateId, startTestGame, type TestGame } from '../support/game';

const screen = (coins: number) => ({ kind: 'farm', coins }) as unknown as MainMenuScreen;
/** The value a promise has settled with by now, or 'pending'. */
const now = <T>(promise: Promise<T>) =>
  Promise.race([promise, new Promise<'pending'>((r) => setImmediate(() => r('pending')))]);

describe('early answers in one process', () => {
  it('gives the screen to every caller waiting on the workflow id', async () => {
    const answers = createEarlyAnswers();
    const first = answers.wait('wf-1');
    const second = answers.wait('wf-1');
    const other = answers.wait('wf-2');
    answers.publish('wf-1', screen(5));
    expect(await now(first.screen)).toEqual(screen(5));
    expect(await now(second.screen)).toEqual(screen(5));
    expect(await now(other.screen)).toBe('pending');
  });

  it('stops only the cancelled caller', async () => {
    const answers = createEarlyAnswers();
    const cancelled = answers.wait('wf-1');
    const kept = answers.wait('wf-1');
    cancelled.cancel();
    cancelled.cancel(); // twice is harmless
    answers.publish('wf-1', screen(7));
    expect(await now(kept.screen)).toEqual(screen(7));
    expect(await now(cancelled.screen)).toBe('pending');
  });

  it('a caller that starts waiting after the publish waits for the next one', async () => {
    const answers = createEarlyAnswers();
    answers.publish('wf-1', screen(1));
    const late = answers.wait('wf-1');
    expect(await now(late.screen)).toBe('pending');
    answers.publish('wf-1', screen(2));
    expect(await now(late.screen)).toEqual(screen(2));
  });
});

describe('two deliveries of one update at once, through the game client', () => {
  let g: TestGame;
  /** While closed, the local activity holds its result after publishing the early answer. */
  let openGate: () => void = () => undefined;
  let gate: Promise<void> = Promise.resolve();
  const HOLD_CAP_MS = 4000; // below the local activity's 5 s start-to-close timeout

  beforeAll(async () => {
    g = await startTestGame({
      wrapMainMenuActivities: (activities) => ({
        ...activities,
        async readFarm(player) {
          const read = await activities.readFarm(player);
          await Promise.race([gate, new Promise((r) => setTimeout(r, HOLD_CAP_MS))]);
          return read;
        },
      }),
    });
  });
  afterAll(async () => {
    openGate();
    await g?.close();
  });

  it('both get the screen before the workflow completes', async () => {
    const player = newPlayer();
    await g.game.handleIntent(player, { type: 'query' }, nextUpdateId()); // the farm exists

    gate = new Promise((resolve) => (openGate = resolve));
    const updateId = nextUpdateId();
    const results = await Promise.all([
      g.game.handleIntent(player, { type: 'query' }, updateId),
      g.game.handleIntent(player, { type: 'query' }, updateId),
    ]);
    const workflowId = mainMenuWorkflowId(g.game.userHashOf(player.telegramUserId), updateId);
    const handle = g.eagerClient.workflow.getHandle(workflowId);
    // Held by the gate: the screens came from the activity, not from the workflow's result.
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect(results.map((r) => r.screen.kind)).toEqual(['farm', 'farm']);
    expect(results[1].screen).toEqual(results[0].screen);
    expect(results.map((r) => r.duplicate).sort()).toEqual([false, true]);

    openGate();
    expect(await handle.result()).toEqual(results[0].screen);
  });
});
