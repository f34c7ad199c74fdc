import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mainMenuWorkflowId, type MainMenuScreen } from '../../workflows/contract';
import { CROPS, sellPrice, NEUTRAL_WORLD } from '../../game';
import { decryptChatId } from '../../infra/identity';
import { createPlayerRegistry } from '../../store/players';
import {
  newPlayer,
  nextUpdateId,
  sleepMs,
  startTestGame,
  TEST_SECRET,
  type TestGame,
} from '../support/game';

function expectDone(screen: MainMenuScreen) {
  if (screen.kind !== 'actionDone')
    throw new Error(`expected actionDone, got ${JSON.stringify(screen)}`);
  return screen;
}

describe('a full game loop through the per-message workflows', () => {
  let g: TestGame;
  beforeAll(async () => {
    g = await startTestGame();
  });
  afterAll(() => g.close());

  it('creates the farm on first contact, then plants, harvests, sells and buys a plot', async () => {
    const player = newPlayer();
    const act = (action: Parameters<TestGame['game']['handleIntent']>[1]) =>
      g.game.handleIntent(player, action, nextUpdateId());

    const first = await act({ type: 'query' });
    expect(first.screen.kind).toBe('farm');
    const start = first.screen.snapshot.farm;
    expect(start.coins).toBeGreaterThan(0);
    expect(start.timeScale).toBe(0.001);

    const registry = createPlayerRegistry(g.redis, g.keyPrefix);
    await expect.poll(() => registry.get(first.userHash)).toMatchObject({ active: true });
    // Stored sealed: it opens to the chat id, and the raw id is nowhere in the record.
    const record = await registry.get(first.userHash);
    expect(decryptChatId(record?.sealedChatId ?? '', TEST_SECRET)).toBe(player.chatId);
    const stored = await g.redis.hGetAll(`${g.keyPrefix}player:${first.userHash}`);
    expect(JSON.stringify(stored)).not.toContain(String(player.chatId));

    const planted = expectDone(
      (await act({ type: 'message', action: { type: 'plant', plotId: 0, cropId: 'wheat' } }))
        .screen,
    );
    expect(planted.event).toMatchObject({
      type: 'planted',
      plotId: 0,
      cropId: 'wheat',
      coinsSpent: CROPS.wheat.seedPrice,
    });
    expect(planted.snapshot.farm.coins).toBe(start.coins - CROPS.wheat.seedPrice);

    await sleepMs(planted.event.type === 'planted' ? planted.event.readyAtMs - Date.now() + 50 : 0);
    const harvested = expectDone(
      (await act({ type: 'message', action: { type: 'harvest', plotId: 0 } })).screen,
    );
    expect(harvested.event).toMatchObject({
      type: 'harvested',
      cropId: 'wheat',
      quantity: CROPS.wheat.yield,
    });
    expect(harvested.snapshot.farm.plots[0]?.crop).toBeNull();

    const sold = expectDone(
      (
        await act({
          type: 'message',
          action: { type: 'sell', cropId: 'wheat', quantity: CROPS.wheat.yield },
        })
      ).screen,
    );
    const earned = CROPS.wheat.yield * sellPrice('wheat', NEUTRAL_WORLD);
    expect(sold.event).toMatchObject({ type: 'sold', coinsEarned: earned });
    expect(sold.snapshot.farm.coins).toBe(start.coins - CROPS.wheat.seedPrice + earned);

    const bonus = expectDone(
      (await act({ type: 'message', action: { type: 'claimDailyBonus' } })).screen,
    );
    expect(bonus.event.type).toBe('dailyBonusClaimed');
    const again = await act({ type: 'message', action: { type: 'claimDailyBonus' } });
    expect(again.screen).toMatchObject({ kind: 'actionRefused' });
  });
});

describe('the game client seals a chat id once, not on every message', () => {
  let g: TestGame;
  beforeAll(async () => {
    g = await startTestGame();
  });
  afterAll(() => g.close());

  it("two messages of one player carry the same sealed chat id in their workflows' inputs", async () => {
    const player = newPlayer();
    const userHash = g.game.userHashOf(player.telegramUserId);
    const sealedIdOf = async (updateId: string) => {
      await g.game.handleIntent(player, { type: 'query' }, updateId);
      const history = await g.eagerClient.workflow
        .getHandle(mainMenuWorkflowId(userHash, updateId))
        .fetchHistory();
      const data =
        history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
      const input = JSON.parse(Buffer.from(data ?? []).toString('utf8')) as {
        sealedChatId: string;
      };
      return input.sealedChatId;
    };
    const first = await sealedIdOf(nextUpdateId());
    const second = await sealedIdOf(nextUpdateId());
    expect(second).toBe(first);
    expect(first.startsWith('v2.')).toBe(true);
    expect(decryptChatId(first, TEST_SECRET)).toBe(player.chatId);
  });
});
