/**
 * The leaderboard end to end: update JSON → webhook → per-message workflows and farms on the real
 * dev server → the farm's own publish into the real Redis → the 🏆 screen read from Redis, as the
 * test Bot API server shows it (Telegram itself is the one thing faked: it cannot be reached
 * from here). Players are on the board within seconds of earning XP, ties go to the earlier,
 * names can be hidden and shown again, and no screen ever shows a support code or an id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userHash } from '../../infra/identity';
import { createLeaderboard } from '../../store/leaderboard';
import { createPlayerRegistry } from '../../store/players';
import { farmWorkflowId, getFarmQuery } from '../../workflows/contract';
import { newTelegramUser, startTestBot, type TestBot } from '../support/bot';
import { sleepMs, TEST_SECRET } from '../support/game';
import { lastMessage, press } from '../support/telegram';

type User = ReturnType<typeof newTelegramUser>;

describe('the leaderboard, through the webhook', () => {
  let b: TestBot;
  /** Everyone this file created: no board may show their support code or Telegram id. */
  const players: User[] = [];
  /** Every board any player was shown (HTML as sent). */
  const boards: string[] = [];

  beforeAll(async () => {
    b = await startTestBot({ mode: 'webhook' });
  });
  afterAll(async () => {
    expect(boards.length).toBeGreaterThan(5);
    for (const board of boards) {
      for (const player of players) {
        expect(board).not.toContain(userHash(player.id, TEST_SECRET));
        expect(board).not.toContain(String(player.id));
      }
    }
    await b.close();
  });

  /** A new player with a first name of their own (not the default, which holds the id). */
  function player(firstName: string): User {
    const user = { ...newTelegramUser(), first_name: firstName };
    players.push(user);
    return user;
  }

  const hashOf = (user: User) => userHash(user.id, TEST_SECRET);

  async function start(user: User) {
    expect((await b.api.sendText(user, '/start')).status).toBe(200);
    expect(lastMessage(b.api, user.id).text).toMatch(/Your farm/);
  }

  /** Plants wheat on plot 1 and harvests it: +XP at the moment of the harvest. */
  async function harvestWheat(user: User) {
    await press(b.api, user, /Plant on 1/);
    await press(b.api, user, /Wheat/);
    await sleepMs(200); // wheat: 2 min × 0.001
    await press(b.api, user, /Refresh/);
    await press(b.api, user, /Harvest/);
    expect(lastMessage(b.api, user.id).text).toMatch(/Harvested 3 wheat/);
  }

  /** The board as `user` sees it now: a fresh farm message, then 🏆 on it. */
  async function openBoard(user: User): Promise<string> {
    await b.api.sendText(user, '/farm');
    await press(b.api, user, /Leaders/);
    const shown = lastMessage(b.api, user.id);
    expect(shown.text).toMatch(/Leaderboard/);
    boards.push(shown.source);
    return shown.source;
  }

  const xpOf = async (user: User) =>
    (await b.t.client.workflow.getHandle(farmWorkflowId(hashOf(user))).query(getFarmQuery)).farm.xp;

  it('shows a player whose XP rose within seconds, with their name, level and place', async () => {
    const alice = player('Alice');
    await start(alice);
    await harvestWheat(alice);
    const xp = await xpOf(alice);
    expect(xp).toBeGreaterThan(0);

    const line = new RegExp(`\\d+\\. Alice · level \\d+ · ${xp} XP`);
    await expect.poll(() => openBoard(alice), { timeout: 5_000, interval: 200 }).toMatch(line);
    const board = lastMessage(b.api, alice.id);
    expect(board.source).toMatch(new RegExp(`<b>\\d+\\. Alice · level \\d+ · ${xp} XP</b> ← you`));
    expect(board.text).toMatch(new RegExp(`You: #\\d+ of \\d+, ${xp} XP`));
    // Read from Redis in the bot process: no per-message workflow for the board itself.
    const labels = lastMessage(b.api, alice.id).reply_markup?.inline_keyboard.flat() ?? [];
    expect(labels.map((button) => button.text)).toEqual(['🙈 Hide my name', '« Back to the farm']);

    await press(b.api, alice, /Back to the farm/);
    expect(lastMessage(b.api, alice.id).text).toMatch(/Your farm/);
  });

  it('gives a tie to whoever reached the XP first', async () => {
    // Dana joins first but reaches the XP second: joining earlier does not win the tie.
    const dana = player('Dana');
    const carl = player('Carl');
    await start(dana);
    await start(carl);
    await harvestWheat(carl);
    await harvestWheat(dana);
    expect(await xpOf(carl)).toBe(await xpOf(dana));

    const board = createLeaderboard(b.redis, b.keyPrefix);
    await expect
      .poll(async () => (await board.rank(hashOf(dana))).xp, { timeout: 5_000 })
      .toBe(await xpOf(dana));
    const text = await openBoard(dana);
    expect(text.indexOf('Carl')).toBeGreaterThan(-1);
    expect(text.indexOf('Carl')).toBeLessThan(text.indexOf('Dana'));
    const [carlRank, danaRank] = await Promise.all([
      board.rank(hashOf(carl)),
      board.rank(hashOf(dana)),
    ]);
    expect(danaRank.rank).toBe(carlRank.rank! + 1);
  });

  it('hides a name as "Farmer #n" and shows it again, for the player and for others', async () => {
    const erin = player('Erin');
    const frank = player('<i>Frank</i> & Co');
    await start(erin);
    await start(frank);
    const farmerNumber = await createPlayerRegistry(b.redis, b.keyPrefix).farmerNumber(
      hashOf(erin),
    );
    expect(farmerNumber).toBeGreaterThan(0);

    await expect.poll(() => openBoard(frank), { timeout: 5_000 }).toContain('Erin');
    // A name is the player's own text: escaped.
    expect(lastMessage(b.api, frank.id).source).toContain('&lt;i&gt;Frank&lt;/i&gt; &amp; Co');

    await openBoard(erin);
    await press(b.api, erin, /Hide my name/);
    // The board again, showing the change at once (the farm's answer; Redis follows).
    let shown = lastMessage(b.api, erin.id);
    boards.push(shown.source);
    expect(shown.text).toContain(`Your name is hidden: others see you as Farmer #${farmerNumber}.`);
    expect(shown.text).toMatch(new RegExp(`Farmer #${farmerNumber} · level 1 · 0 XP ← you`));
    expect(shown.text).not.toContain('Erin');
    expect(
      await b.t.client.workflow.getHandle(farmWorkflowId(hashOf(erin))).query(getFarmQuery),
    ).toMatchObject({ farm: { preferences: { showName: false } } });

    // Others see it within seconds, and Redis no longer holds the name.
    await expect
      .poll(() => openBoard(frank), { timeout: 5_000 })
      .toContain(`Farmer #${farmerNumber} · level 1`);
    expect(lastMessage(b.api, frank.id).text).not.toContain('Erin');
    expect((await createPlayerRegistry(b.redis, b.keyPrefix).get(hashOf(erin)))?.displayName).toBe(
      null,
    );

    await press(b.api, erin, /Show my name/);
    shown = lastMessage(b.api, erin.id);
    boards.push(shown.source);
    expect(shown.text).toContain('Others see you as Erin.');
    expect(shown.text).toMatch(/Erin · level 1 · 0 XP ← you/);
    await expect.poll(() => openBoard(frank), { timeout: 5_000 }).toContain('Erin');
  });

  it('turns notifications off and on from the farm screen', async () => {
    const gina = player('Gina');
    await start(gina);
    const farm = () =>
      b.t.client.workflow.getHandle(farmWorkflowId(hashOf(gina))).query(getFarmQuery);
    const registry = createPlayerRegistry(b.redis, b.keyPrefix);

    await press(b.api, gina, /Notifications: on/);
    expect(lastMessage(b.api, gina.id).text).toMatch(/🔕 Notifications off/);
    expect((await farm()).farm.preferences?.notifications).toBe(false);
    await expect
      .poll(async () => (await registry.get(hashOf(gina)))?.notifications, { timeout: 5_000 })
      .toBe(false);

    await press(b.api, gina, /Notifications: off/);
    expect(lastMessage(b.api, gina.id).text).toMatch(/🔔 Notifications on/);
    expect((await farm()).farm.preferences?.notifications).toBe(true);
    await expect
      .poll(async () => (await registry.get(hashOf(gina)))?.notifications, { timeout: 5_000 })
      .toBe(true);
    await openBoard(gina);
  });
});
