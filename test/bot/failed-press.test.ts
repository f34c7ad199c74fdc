/**
 * An update that fails with a bug (not an outage, which is answered 503 and redelivered) ends in
 * a message the player can act on: the farm again with its buttons, or, when the farm cannot be
 * read either, the apology with a button that reloads it. The failures are injected: the game
 * client's `handleIntent` is wrapped to throw a plain Error for the calls a test chooses; the rest
 * runs for real (Temporal, Redis). Telegram is faked by the local test Bot API server.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GameClient } from '../../bot/game-client';
import { newTelegramUser, startTestBot, type TestBot } from '../support/bot';
import { sleepMs } from '../support/game';
import { buttons, lastMessage, press } from '../support/telegram';

const APOLOGY = '😵 Something went wrong. Please try again.';
/** The "working…" edit comes this soon, so that a slower failure lands after it. */
const WORKING_AFTER_MS = 100;

describe('a failed update ends in a message with buttons', () => {
  let b: TestBot;
  /** The next `failures` calls of handleIntent fail, each after `delayMs`. */
  let injected = { failures: 0, delayMs: 0 };

  beforeAll(async () => {
    b = await startTestBot({ mode: 'webhook', workingAfterMs: WORKING_AFTER_MS });
    const game: GameClient = b.service.game;
    const real = game.handleIntent.bind(game);
    game.handleIntent = (...args) => {
      if (injected.failures === 0) return real(...args);
      injected.failures -= 1;
      const { delayMs } = injected;
      return sleepMs(delayMs).then(() => {
        throw new Error('injected failure: a bug in the farm call');
      });
    };
  });
  beforeEach(() => {
    injected = { failures: 0, delayMs: 0 };
  });
  afterAll(() => b.close());

  /** Callback answers for the update's query: each one Telegram accepted. */
  function answersTo(updateId: number) {
    const queryId = b.api.updates.get(updateId)?.callback_query?.id;
    expect(queryId).toBeDefined();
    return b.api.calls.filter(
      (c) => c.method === 'answerCallbackQuery' && c.params.callback_query_id === queryId,
    );
  }

  async function playerWithFarm() {
    const user = newTelegramUser();
    await b.api.sendText(user, '/start');
    expect(lastMessage(b.api, user.id).text).toMatch(/Your farm/);
    return user;
  }

  function expectFarmWithApology(userId: number) {
    const shown = lastMessage(b.api, userId);
    expect(shown.text).toContain(APOLOGY);
    expect(shown.text).toMatch(/Your farm · level 1 · 50 🪙/);
    const labels = buttons(b.api, userId).map((button) => button.text);
    expect(labels).toEqual(expect.arrayContaining(['🔄 Refresh', '❓ Help']));
    expect(labels.some((label) => /Bonus/.test(label))).toBe(true);
  }

  it('a press that fails at once: the pressed message shows the farm with its buttons', async () => {
    const user = await playerWithFarm();
    const farmMessageId = lastMessage(b.api, user.id).message_id;
    injected = { failures: 1, delayMs: 0 };
    const delivery = await press(b.api, user, /Bonus/);

    expectFarmWithApology(user.id);
    expect(lastMessage(b.api, user.id).message_id).toBe(farmMessageId);
    // The press was answered once, and Telegram took the answer (no refused second answer).
    const answers = answersTo(delivery.updateId);
    expect(answers.map((a) => a.response.ok)).toEqual([true]);
  });

  it('a press that fails after the "working…" edit took the buttons away gets them back', async () => {
    const user = await playerWithFarm();
    injected = { failures: 1, delayMs: WORKING_AFTER_MS * 10 };
    const callsBefore = b.api.calls.length;
    const delivery = await press(b.api, user, /Bonus/);

    // The working edit happened (it removed the buttons), then the failure.
    const working = b.api.calls
      .slice(callsBefore)
      .find(
        (c) =>
          c.method === 'editMessageText' &&
          c.params.chat_id === user.id &&
          c.params.text === '⏳ Working on it…',
      );
    expect(working).toBeDefined();
    expectFarmWithApology(user.id);
    expect(answersTo(delivery.updateId).map((a) => a.response.ok)).toEqual([true]);
  });

  it('a command that fails gets the farm with its buttons, and no stray "working…"', async () => {
    const user = await playerWithFarm();
    injected = { failures: 1, delayMs: WORKING_AFTER_MS * 10 };
    await b.api.sendText(user, '/farm');

    expectFarmWithApology(user.id);
    expect(b.api.messages(user.id).map((m) => m.text)).not.toContain('⏳ Working on it…');
  });

  it('when the farm cannot be read either: the apology with a button that reloads the farm', async () => {
    const user = await playerWithFarm();
    // The press and the apology's own read of the farm both fail.
    injected = { failures: 2, delayMs: 0 };
    await press(b.api, user, /Refresh/);

    const shown = lastMessage(b.api, user.id);
    expect(shown.text).toBe(APOLOGY);
    expect(buttons(b.api, user.id)).toEqual([{ text: '🔄 Refresh', callback_data: '1:f' }]);

    await press(b.api, user, /Refresh/);
    expect(lastMessage(b.api, user.id).text).toMatch(/^🌻 Your farm · level 1 · 50 🪙/);
  });
});
