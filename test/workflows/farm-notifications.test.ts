/**
 * What a farm tells its player on its own, end to end on the real dev server and Redis: the farm
 * decides and logs, the notifications worker (the bot process's, here the file's own queue) sends
 * through the outgoing pacing to the local Bot API server, which enforces Telegram's limits and
 * answers 403 for a chat that blocked the bot. Telegram is the one thing mocked: it cannot be
 * reached from here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedCall } from '../../dev/bot-api';
import { scaledMs } from '../../game';
import {
  farmWorkflowId,
  type FarmLogEntry,
  getFarmLogQuery,
  getFarmQuery,
  grantRewardSignal,
} from '../../workflows/contract';
import { RIPENING_WAVE_SECONDS } from '../../workflows/farm';
import { newPlayer, nextUpdateId, startTestGame, type TestGame } from '../support/game';

/** Wheat grows in 2.4 s and a ripening wave gathers for 1.2 s: plants sent together share one. */
const TIME_SCALE = 0.02;

type Notification = Extract<FarmLogEntry, { kind: 'notification' }>;

describe('farm notifications', () => {
  let g: TestGame;
  beforeAll(async () => {
    g = await startTestGame({ timeScale: TIME_SCALE });
  });
  afterAll(() => g.close());

  const farmOf = (player: ReturnType<typeof newPlayer>) =>
    g.eagerClient.workflow.getHandle(farmWorkflowId(g.game.userHashOf(player.telegramUserId)));
  const act = (player: ReturnType<typeof newPlayer>, action: object) =>
    g.game.handleIntent(player, { type: 'message', action: action as never }, nextUpdateId());
  const sentTo = (chatId: number) => (call: RecordedCall) =>
    call.method === 'sendMessage' && Number(call.params.chat_id) === chatId;
  const notificationsIn = async (player: ReturnType<typeof newPlayer>) =>
    (await farmOf(player).query(getFarmLogQuery)).filter(
      (entry): entry is Notification => entry.kind === 'notification',
    );
  /** The farm's log once every notification in it has an outcome. */
  const settled = async (player: ReturnType<typeof newPlayer>, count: number) => {
    await expect
      .poll(
        async () => {
          const entries = await notificationsIn(player);
          return entries.filter((entry) => entry.outcome !== 'queued').length;
        },
        { timeout: 20_000, interval: 100 },
      )
      .toBe(count);
    return notificationsIn(player);
  };

  it('sends one message per ripening wave, however many plots ripen in it', async () => {
    const player = newPlayer();
    await g.game.handleIntent(player, { type: 'query' }, nextUpdateId());
    // Three plots planted together: one wave.
    await Promise.all(
      [0, 1, 2].map((plotId) => act(player, { type: 'plant', plotId, cropId: 'wheat' })),
    );
    const { farm } = await farmOf(player).query(getFarmQuery);
    const readyAt = farm.plots.flatMap((plot) => (plot.crop ? [plot.crop.readyAtMs] : []));
    // The premise: the three were planted within one wave's gathering time of each other.
    expect(Math.max(...readyAt) - Math.min(...readyAt)).toBeLessThan(
      scaledMs(RIPENING_WAVE_SECONDS, TIME_SCALE),
    );

    const [first] = await settled(player, 1);
    expect(first).toMatchObject({
      topic: 'cropsReady',
      outcome: 'sent',
      summary: 'ready: wheat ×3',
    });
    const messages = g.botApi.calls.filter(sentTo(player.chatId));
    expect(messages).toHaveLength(1);
    expect(messages[0]!.params.text).toBe('🌾 Your wheat is ready on 3 plots!');
    expect(g.botApi.messages(player.chatId)[0]?.reply_markup?.inline_keyboard.flat()).toEqual([
      { text: '🌻 Open farm', callback_data: '1:f' },
      { text: '🔕 Turn notifications off', callback_data: '1:n:0' },
    ]);

    // The next wave: one plot, one more message.
    await Promise.all([0, 1, 2].map((plotId) => act(player, { type: 'harvest', plotId })));
    await act(player, { type: 'plant', plotId: 3, cropId: 'wheat' });
    const [second] = await settled(player, 2);
    expect(second).toMatchObject({ topic: 'cropsReady', outcome: 'sent', summary: 'ready: wheat' });
    const texts = g.botApi.calls.filter(sentTo(player.chatId)).map((call) => call.params.text);
    expect(texts).toEqual(['🌾 Your wheat is ready on 3 plots!', '🌾 Your wheat is ready!']);
  });

  it('a 403 marks the player unreachable: later messages are skipped as blocked until they act', async () => {
    const player = newPlayer();
    const farm = farmOf(player);
    await g.game.handleIntent(player, { type: 'query' }, nextUpdateId());
    // Blocked without the bot hearing of it (no my_chat_member reaches it): only a send finds out.
    await g.botApi.blockChat(player.chatId);

    const grant = (grantId: string) =>
      farm.signal(grantRewardSignal, {
        grantId,
        issuedAtMs: Date.now(),
        coins: 10,
        xp: 5,
        reason: 'test prize',
        batchId: 'test-batch',
        message: 'You won the test prize!',
      });
    await grant('test-batch:first');
    const [refused] = await settled(player, 1);
    expect(refused).toMatchObject({
      topic: 'reward',
      outcome: 'skipped',
      skipped: 'blocked',
      batchId: 'test-batch',
    });
    await expect.poll(async () => (await farm.query(getFarmQuery)).profile?.reachable).toBe(false);

    // Unreachable now: the farm does not even queue the next one. The grant is still paid.
    await grant('test-batch:second');
    const [skipped] = await settled(player, 2);
    expect(skipped).toMatchObject({ outcome: 'skipped', skipped: 'blocked' });
    expect((await farm.query(getFarmQuery)).farm.coins).toBe(70);
    const attempts = g.botApi.calls.filter(sentTo(player.chatId));
    expect(attempts.map((call) => call.response.ok)).toEqual([false]);

    // The player unblocks and writes: the farm can reach them again.
    await g.botApi.unblockChat(player.chatId);
    await act(player, { type: 'claimDailyBonus' });
    expect((await farm.query(getFarmQuery)).profile?.reachable).toBe(true);
    await grant('test-batch:third');
    const [sent] = await settled(player, 3);
    expect(sent).toMatchObject({ topic: 'reward', outcome: 'sent' });
    expect(g.botApi.calls.filter(sentTo(player.chatId)).at(-1)?.params.text).toBe(
      '🎁 You won the test prize!\n+10 🪙, +5 XP (test prize)',
    );

    // Every grant and every notification is on record, newest first, with its outcome.
    const log = await farm.query(getFarmLogQuery);
    expect(
      log.map((entry) => [entry.kind, 'outcome' in entry ? entry.outcome : 'applied']),
    ).toEqual([
      ['notification', 'sent'],
      ['grant', 'applied'],
      ['notification', 'skipped'],
      ['grant', 'applied'],
      ['notification', 'skipped'],
      ['grant', 'applied'],
    ]);
    for (const [i, n] of ['third', 'second', 'first'].entries()) {
      expect(log.filter((entry) => entry.kind === 'grant')[i]).toMatchObject({
        grantId: `test-batch:${n}`,
        coins: 10,
        xp: 5,
        reason: 'test prize',
        batchId: 'test-batch',
      });
    }
  });
});
