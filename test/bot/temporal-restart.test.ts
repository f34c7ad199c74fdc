/**
 * The Temporal server restarts while several players press buttons. Every update the webhook
 * could not finish is answered 503 and delivered again (by the local test Bot API server, as
 * Telegram does) until it is taken; none is answered 200 with an apology while its per-message
 * workflow may still run. Afterwards each player's last screen shows what their farm holds.
 * A dev server of this file's own (own port and SQLite file): the run's shared one stays up.
 */
import { ServiceError } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { farmWorkflowId, getFarmQuery } from '../../workflows/contract';
import { userHash } from '../../infra/identity';
import type { DeliveryResult, TestBotApi } from '../../dev/bot-api';
import { createPlayerApi, type Player } from '../../dev/bot-api/player-api';
import { newTelegramUser, startTestBot, type TestBot } from '../support/bot';
import { sleepMs, TEST_SECRET } from '../support/game';
import { lastMessage, press } from '../support/telegram';
import { ownDevServer, type OwnDevServer } from '../support/temporal';

const PLAYERS = 4;
/** Buttons that change the farm or show it; help and the leaderboard only talk. */
const PLAYED = /Plant on|Wheat|Harvest|Sell|Plot \(|Bonus|Refresh|Back|⏳/;

describe('a Temporal restart under traffic', () => {
  let server: OwnDevServer | undefined;
  let b: TestBot | undefined;
  afterAll(async () => {
    await b?.close();
    await server?.remove();
  });

  it('ends every update taken, and every last screen matching the farm', async () => {
    server = await ownDevServer();
    await server.start();
    b = await startTestBot({ mode: 'webhook', temporalAddress: server.address });
    const { api } = b;

    // Every delivery's outcome, first and redelivered, so that a player can wait until Telegram
    // would stop redelivering (a 2xx), as a player waits for the spinner to stop.
    const taken = new Map<number, () => void>();
    const outcomes = new Map<number, DeliveryResult>();
    const note = (result: DeliveryResult) => {
      outcomes.set(result.updateId, result);
      if (result.status !== undefined && result.status < 300) taken.get(result.updateId)?.();
      return result;
    };
    const watched: TestBotApi = Object.create(api) as TestBotApi;
    watched.redeliver = async (updateId) => note(await api.redeliver(updateId));
    const players = createPlayerApi(watched, {
      redeliveryDelaysMs: Array.from({ length: 60 }, (_, i) => Math.min(500 * (i + 1), 2000)),
    });
    const waitTaken = (updateId: number) =>
      new Promise<void>((resolve) => {
        const outcome = outcomes.get(updateId);
        if (outcome?.status !== undefined && outcome.status < 300) return resolve();
        taken.set(updateId, resolve);
      });

    const people: Player[] = Array.from({ length: PLAYERS }, (_, i) => ({
      id: 7_000_000_000 + Math.floor(Math.random() * 1e8) * 10 + i,
      name: `Restart ${i}`,
    }));
    for (const player of people) {
      const sent = await players.send(player, '/start');
      expect(sent.delivered).toBe(true);
    }

    let playing = true;
    const play = async (player: Player) => {
      let presses = 0;
      while (playing || presses < 3) {
        const message = lastMessage(api, player.id);
        const choices = (message.reply_markup?.inline_keyboard.flat() ?? []).filter(
          (k) => 'callback_data' in k && PLAYED.test(k.text),
        );
        const choice = choices[Math.floor(Math.random() * choices.length)];
        if (!choice || !('callback_data' in choice)) throw new Error(`no button: ${message.text}`);
        const delivery = await players.press(player, message.message_id, choice.callback_data);
        if (!delivery.delivered) await waitTaken(delivery.updateId);
        presses += 1;
        // Below the per-player flood limit (8 updates in 2 s): a throttled press is dropped.
        await sleepMs(300);
      }
      // The last press may have opened the plant menu: back to the farm screen.
      const message = lastMessage(api, player.id);
      const back = message.reply_markup?.inline_keyboard.flat().find((k) => /Back/.test(k.text));
      if (back && 'callback_data' in back) {
        const delivery = await players.press(player, message.message_id, back.callback_data);
        if (!delivery.delivered) await waitTaken(delivery.updateId);
      }
      return presses;
    };
    const playing$ = people.map(play);

    await sleepMs(3000);
    await server.stop();
    // Longer than the start's bound: presses meet the outage and are refused, some redelivered
    // while the server is still down, some just as it comes back.
    await sleepMs(8000);
    await server.start();
    await sleepMs(8000);
    playing = false;
    const presses = await Promise.all(playing$);
    expect(presses.every((n) => n >= 3)).toBe(true);
    players.close();

    // Some updates met the outage, were refused and then taken; none was answered with a 5xx
    // that stuck, and none got an apology.
    const refusedThenTaken = [...outcomes.values()].filter((o) => o.status === 200).length;
    expect(refusedThenTaken).toBeGreaterThan(0);
    const apologies = api.calls.filter((c) => /went wrong/i.test(JSON.stringify(c.params)));
    expect(apologies).toEqual([]);

    for (const player of people) {
      const screen = lastMessage(api, player.id).text;
      const { farm } = await b.t.client.workflow
        .getHandle(farmWorkflowId(userHash(player.id, TEST_SECRET)))
        .query(getFarmQuery);
      expect(screen).toContain(` · ${farm.coins} 🪙 · `);
      const plots = screen.match(/^\d+\. .*$/gm) ?? [];
      expect(plots).toHaveLength(farm.plots.length);
      farm.plots.forEach((plot, i) => {
        if (plot.crop === null) expect(plots[i]).toMatch(/empty/);
        else expect(plots[i]).toMatch(new RegExp(plot.crop.cropId, 'i'));
      });
    }
  }, 180_000);
});

describe('a start whose answer was lost while Temporal is healthy again', () => {
  let b: TestBot | undefined;
  afterAll(() => b?.close());

  it('is answered 503, and the redelivery shows the action its workflow applied', async () => {
    b = await startTestBot({ mode: 'webhook' });
    const user = newTelegramUser();
    expect((await b.api.sendText(user, '/start')).status).toBe(200);

    // The start reached the server and its workflow ran, but its answer was lost with the
    // connection (what a server restart does to a call in flight), and Temporal is up again by
    // the time the bot looks: the error's type, not the server's health, must decide.
    const { game } = b.service;
    const handleIntent = game.handleIntent.bind(game);
    game.handleIntent = async (...args) => {
      game.handleIntent = handleIntent;
      await handleIntent(...args);
      const lost = Object.assign(new Error('14 UNAVAILABLE: connection reset'), {
        code: 14,
        details: 'connection reset',
        metadata: {},
      });
      throw new ServiceError('Failed to start Workflow', { cause: lost });
    };
    const message = lastMessage(b.api, user.id);
    const bonus = message.reply_markup!.inline_keyboard.flat().find((k) => /Bonus/.test(k.text));
    const during = await b.api.pressButton(
      user,
      { chat_id: user.id, message_id: message.message_id },
      bonus && 'callback_data' in bonus ? bonus.callback_data : '',
    );
    expect(during.status).toBe(503);
    expect(JSON.stringify(b.api.calls.map((c) => c.params))).not.toMatch(/went wrong/i);

    expect((await b.api.redeliver(during.updateId)).status).toBe(200);
    expect(lastMessage(b.api, user.id).text).toMatch(/Daily bonus: \+50/);
    const { farm } = await b.t.client.workflow
      .getHandle(farmWorkflowId(userHash(user.id, TEST_SECRET)))
      .query(getFarmQuery);
    expect(farm.coins).toBe(100);
    // The player can go on from the screen the redelivery showed.
    await press(b.api, user, /Refresh/);
  }, 60_000);
});
