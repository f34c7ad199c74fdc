/**
 * The web chat page in headless Chromium against local play as `npm start` runs it: a whole round
 * of the game, two players in two tabs, and the bot's messages rendered as Telegram shows them.
 */
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { neutralMarket, sellPrice } from '../../../game';
import { scheduleDefinitions, weeklyPrizeSchedule } from '../../../schedules/catalog';
import { createScheduleOperations } from '../../../schedules/engine';
import { WEEKLY_PRIZE } from '../../../schedules/prizes';
import { createWorldStore } from '../../../store/world';
import { WORKFLOW_TYPES } from '../../../workflows/contract';
import { deleteSchedules } from '../../support/schedules';
import {
  botMessages,
  ensureChromium,
  lastBotText,
  launchChromium,
  startWebChatStack,
  waitForText as waitForTextWithin,
  type WebChatStack,
} from './support';

const WAIT_MS = 10_000;

/** The farms' own messages (crops ready, an event, a reward), the newest last. */
const notifications = (page: Page) =>
  page
    .locator('#chat .from-bot')
    .filter({ has: page.getByRole('button', { name: /Turn notifications off/ }) });

const waitForText = (locator: Locator, pattern: RegExp) =>
  waitForTextWithin(locator, pattern, WAIT_MS);

/** The coins the farm screen shows: "🌻 Your farm · level 1 · 57 🪙 · …". */
async function coins(page: Page): Promise<number> {
  const text = (await lastBotText(page).textContent()) ?? '';
  const match = /Your farm · level \d+ · (\d+) 🪙/.exec(text);
  if (!match) throw new Error(`no farm screen in: ${text}`);
  return Number(match[1]);
}

/** A button of the newest bot message: the screen the player is looking at. */
const button = (page: Page, name: RegExp) => botMessages(page).last().getByRole('button', { name });

/** The Telegram user id of the page's player number `index + 1`, as the page keeps it. */
async function playerId(page: Page, index: number): Promise<number> {
  // A string runs in the page: this project's TypeScript has no DOM types.
  const players = await page.evaluate<string | null>("localStorage.getItem('farmflow.players')");
  return (JSON.parse(players ?? '[]') as { id: number }[])[index]!.id;
}

describe('playing in the browser', () => {
  let stack: WebChatStack;
  let browser: Browser;
  let context: BrowserContext;
  let first: Page;

  // Long enough for root to install a missing Chromium from Debian's packages.
  beforeAll(async () => {
    browser = await launchChromium();
    stack = await startWebChatStack();
    context = await browser.newContext({ viewport: { width: 900, height: 800 } });
  }, 600_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('fails, naming the package, when Chromium is missing and cannot be installed', async () => {
    await expect(ensureChromium('/nonexistent/chromium', { install: false })).rejects.toThrow(
      "/nonexistent/chromium is missing: the browser tests need Debian's chromium package (apt-get install chromium)",
    );
  });

  it('serves the page at / with a policy that allows no inline script', async () => {
    const response = await fetch(`${stack.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  it('plays a round: /start, plant wheat, wait for it, harvest, sell, and coins change', async () => {
    first = await context.newPage();
    const errors: string[] = [];
    first.on('pageerror', (error) => errors.push(error.message));
    await first.goto(`${stack.url}/`);
    await expect.poll(() => first.url()).toMatch(/#player-1$/);

    // A new chat shows Telegram's Start button; it sends /start.
    await first.getByRole('button', { name: /^start$/i }).click();
    await waitForText(first.locator('#chat .from-player').first(), /^\/start/);
    await waitForText(lastBotText(first), /Your farm · level 1 · 50 🪙/);
    expect(await first.locator('#welcome').isHidden()).toBe(true);
    const farmMessage = await botMessages(first).last().getAttribute('data-message-id');

    await button(first, /Plant on 1/).click();
    await waitForText(lastBotText(first), /What to plant on plot 1/);
    await button(first, /Wheat/).click();
    await waitForText(lastBotText(first), /Planted wheat on plot 1/);
    expect(await coins(first)).toBe(45);

    // Wheat grows in 120 ms at this time scale; Refresh shows it ready.
    await expect
      .poll(
        async () => {
          // One Refresh at a time: presses that pile up on a slow host trip the flood throttle.
          if ((await button(first, /Harvest/).count()) === 0)
            await button(first, /Refresh/).click();
          return button(first, /Harvest/).count();
        },
        { timeout: WAIT_MS, interval: 1000 },
      )
      .toBe(1);
    await button(first, /Harvest/).click();
    await waitForText(lastBotText(first), /Harvested 3 wheat/);
    await button(first, /Sell 3 wheat/).click();
    await waitForText(lastBotText(first), /Sold 3 wheat for 12 🪙/);
    expect(await coins(first)).toBe(57);

    // The farm told the player the wheat was ready, in a message of its own.
    await waitForText(notifications(first).last().locator('.text'), /Your wheat is ready!/);
    expect(await notifications(first).count()).toBe(1);
    // Every press edited the one farm message in place, as Telegram shows it.
    expect(await botMessages(first).count()).toBe(1);
    expect(await botMessages(first).last().getAttribute('data-message-id')).toBe(farmMessage);
    await expect
      .poll(() => botMessages(first).last().locator('.meta').textContent())
      .toMatch(/edited/);
    // Bold as the bot's HTML said, as an element and not as markup text.
    expect(await lastBotText(first).locator('strong').first().textContent()).toBe('Your farm');
    expect(errors).toEqual([]);
  });

  it('shows the leaderboard, and typed commands as the player wrote them', async () => {
    // The same player pressed eight times in the last test: a fresh flood-throttle window (8
    // updates per 2 s, bot/throttle.ts) keeps this test's three from being slowed down.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await button(first, /Leaders/).click();
    await waitForText(lastBotText(first), /Leaderboard[\s\S]*You: #\d+ of \d+/);
    await button(first, /Back to the farm/).click();

    await first.getByRole('textbox', { name: 'Message to the bot' }).fill('/help');
    await first.getByRole('textbox', { name: 'Message to the bot' }).press('Enter');
    await waitForText(lastBotText(first), /Your support code: \w+/);
    expect(await first.locator('#chat .from-player').last().textContent()).toMatch(/^\/help/);
    expect(await lastBotText(first).locator('code').count()).toBe(1);

    // A /command in the bot's text is tappable and sends itself.
    await lastBotText(first).getByRole('button', { name: '/farm' }).click();
    await waitForText(first.locator('#chat .from-player').last(), /^\/farm/);
    await waitForText(lastBotText(first), /Your farm · level 1 · 57 🪙/);
  });

  it('gives two players in two tabs two farms that do not see each other', async () => {
    const second = await context.newPage();
    await second.goto(`${stack.url}/#player-2`);
    await second.getByRole('button', { name: /^start$/i }).click();
    await waitForText(lastBotText(second), /Your farm · level 1 · 50 🪙/);
    await button(second, /Bonus/).click();
    await waitForText(lastBotText(second), /Daily bonus: \+50/);
    expect(await coins(second)).toBe(100);

    expect(await playerId(second, 1)).not.toBe(await playerId(second, 0));
    const secondChat = (await second.locator('#chat').textContent()) ?? '';
    expect(secondChat).not.toMatch(/Sold 3 wheat|Harvested|\/help/);
    expect(await second.getByRole('link', { name: 'Player 2' }).getAttribute('aria-current')).toBe(
      'page',
    );

    // The first tab still shows the first player's farm, unchanged by the second's bonus.
    await button(first, /Refresh/).click();
    await waitForText(lastBotText(first), /Your farm · level 1 · 57 🪙/);
    expect((await first.locator('#chat').textContent()) ?? '').not.toMatch(/Daily bonus/);
    await second.close();
  });

  it('renders only the Telegram HTML subset, escaping the rest, and shows edits in place', async () => {
    const page = await context.newPage();
    await page.goto(`${stack.url}/#player-3`);
    await expect.poll(() => page.locator('#welcome').isVisible()).toBe(true);
    const chatId = await playerId(page, 2);

    const sent = (await stack.callAsBot('sendMessage', {
      chat_id: chatId,
      parse_mode: 'HTML',
      text:
        '<b>bold</b> &lt;img src=x onerror="window.pwned=1"&gt; <i>it <u>u</u></i>\n' +
        '<a href="javascript:window.pwned=1">bad link</a> <a href="https://example.com/">good link</a>',
    })) as { message_id: number };
    const message = page.locator(`[data-message-id="${sent.message_id}"]`);
    await waitForText(message, /bold <img src=x onerror="window.pwned=1"> it u/);
    const text = message.locator('.text');
    expect(await text.locator('strong').textContent()).toBe('bold');
    expect(await text.locator('em > u').textContent()).toBe('u');
    expect(await page.locator('#chat img').count()).toBe(0);
    expect(await text.locator('a').count()).toBe(1);
    expect(await text.locator('a').getAttribute('href')).toBe('https://example.com/');
    expect(await text.locator('a').getAttribute('rel')).toBe('noopener noreferrer');
    expect(await page.evaluate('typeof window.pwned')).toBe('undefined');

    // The bot's "working…" state, then the result in the same message.
    await stack.callAsBot('editMessageText', {
      chat_id: chatId,
      message_id: sent.message_id,
      text: '⏳ Working on it…',
    });
    await waitForText(message.locator('.text'), /^⏳ Working on it…$/);
    await stack.callAsBot('editMessageText', {
      chat_id: chatId,
      message_id: sent.message_id,
      text: 'Done: <code>42</code>',
      parse_mode: 'HTML',
      reply_markup: { inline_keyboard: [[{ text: 'Docs', url: 'https://temporal.io/' }]] },
    });
    await waitForText(message.locator('.text'), /^Done: 42$/);
    expect(await message.locator('.text code').textContent()).toBe('42');
    expect(await page.getByRole('link', { name: /Docs/ }).getAttribute('href')).toBe(
      'https://temporal.io/',
    );
    expect(await page.locator('#chat .message').count()).toBe(1);
    await page.close();
  });
  it("moves the market on the schedule's tick, and pays double during the fair", async () => {
    // The catalog as a designer applies it, under this file's own ids and task queue. Its scale
    // makes the two-hour fair last 72 s: the farm plays at the tests' scale (wheat in 120 ms).
    const idPrefix = `browser-${Date.now()}-`;
    const schedules = createScheduleOperations({
      client: stack.t.client,
      idPrefix,
      definitions: scheduleDefinitions({ timeScale: 0.01, taskQueue: stack.t.taskQueue, idPrefix }),
    });
    onTestFinished(() => deleteSchedules(stack.t.client, idPrefix));
    expect((await schedules.apply()).created).toHaveLength(4);
    // Ticks come from the triggers below only (a paused schedule still runs when triggered).
    await schedules.pause(`${idPrefix}market-tick`, 'ticked by the test');
    const world = createWorldStore(stack.redis, stack.keyPrefix);
    // This world walks with seed 0 (a new world's first tick would draw one of its own), whose
    // second tick takes wheat from 4 coins to 5.
    await world.publishMarket({ ...neutralMarket(), seed: 0 });
    const tick = async (n: number) => {
      // A schedule names a run by its second: two triggers within one second start one run.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await schedules.trigger(`${idPrefix}market-tick`);
      await expect
        .poll(async () => (await world.read()).market?.tick, { timeout: WAIT_MS })
        .toBe(n);
    };

    const page = await context.newPage();
    await page.goto(`${stack.url}/#player-4`);
    await page.getByRole('button', { name: /^start$/i }).click();
    await waitForText(lastBotText(page), /Your farm · level 1 · 50 🪙/);
    await button(page, /Plant on 1/).click();
    await button(page, /Wheat/).click();
    await waitForText(lastBotText(page), /Planted wheat on plot 1/);

    // Two ticks of the seeded walk take wheat from 4 to 5 coins: the market line shows the move.
    await tick(1);
    await tick(2);
    const moved = sellPrice('wheat', await world.read());
    expect(moved).toBe(5);
    await expect
      .poll(
        async () => {
          await button(page, /Refresh/).click();
          return (await lastBotText(page).textContent()) ?? '';
        },
        { timeout: WAIT_MS, interval: 1000 },
      )
      .toMatch(/📈 Market: 🌾 5 ↑/);
    await button(page, /Harvest/).click();
    await waitForText(lastBotText(page), /Harvested 3 wheat/);

    await schedules.trigger(`${idPrefix}event-harvest-fair`);
    await expect
      .poll(async () => (await world.read()).events?.length, { timeout: WAIT_MS })
      .toBe(1);
    const duringFair = await world.read();
    const fairPrice = sellPrice('wheat', duringFair);
    // Wheat's base price 4, times the market's factor, times the fair's 2.
    expect(fairPrice).toBe(Math.round(4 * duringFair.market!.factors.wheat * 2));
    await button(page, /Refresh/).click();
    await waitForText(lastBotText(page), /Friday harvest fair: sale prices ×2/);
    const before = await coins(page);
    await button(page, new RegExp(`Sell 3 wheat \\(${3 * fairPrice} 🪙\\)`)).click();
    await waitForText(lastBotText(page), new RegExp(`Sold 3 wheat for ${3 * fairPrice} 🪙`));
    expect(await coins(page)).toBe(before + 3 * fairPrice);
    await page.close();
  });

  it('receives the weekly prize once, though its schedule fires twice for the week', async () => {
    // The schedule as a designer applies it, under this file's own ids and task queue. It fires
    // for a past week (a backfill), twice: a week of its own, so that no other test file's
    // weekly prize on this server has used its batch id.
    const idPrefix = `browser-prize-${Date.now()}-`;
    const schedules = createScheduleOperations({
      client: stack.t.client,
      idPrefix,
      definitions: [
        weeklyPrizeSchedule(WEEKLY_PRIZE, {
          timeScale: 0.01,
          taskQueue: stack.t.taskQueue,
          idPrefix,
        }),
      ],
    });
    onTestFinished(() => deleteSchedules(stack.t.client, idPrefix));
    const scheduleId = `${idPrefix}weekly-prize`;
    expect((await schedules.apply()).created).toEqual([scheduleId]);

    await button(first, /Refresh/).click();
    await waitForText(lastBotText(first), /Your farm · level/);
    const before = await coins(first);
    const prizeMessage =
      /🏆 You are among the best farmers of the week![\s\S]*\+(\d+) 🪙 \(weekly prize\)/;
    const prizes = notifications(first).filter({ hasText: 'best farmers of the week' });
    expect(await prizes.count()).toBe(0);

    // Sunday 4 January 2026, 20:00 UTC: the end of ISO week 2026-W01.
    const sunday = {
      start: new Date('2026-01-04T19:59:00Z'),
      end: new Date('2026-01-04T20:01:00Z'),
    };
    const finishedRuns = async () => {
      const query = `WorkflowType = '${WORKFLOW_TYPES.weeklyPrize}' AND TaskQueue = '${stack.t.taskQueue}' AND ExecutionStatus = 'Completed'`;
      const runs = [];
      for await (const run of stack.t.client.workflow.list({ query })) runs.push(run);
      return runs.length;
    };
    await schedules.backfill(scheduleId, sunday);
    await expect.poll(finishedRuns, { timeout: WAIT_MS }).toBe(1);
    await waitForText(prizes.last().locator('.text'), prizeMessage);
    // The schedule fires again for the same week: its run finds the week's batch started.
    await schedules.backfill(scheduleId, sunday);
    await expect.poll(finishedRuns, { timeout: WAIT_MS }).toBe(2);

    const prize = Number(prizeMessage.exec((await prizes.last().textContent()) ?? '')?.[1]);
    expect(prize).toBeGreaterThanOrEqual(100);
    expect(await prizes.count()).toBe(1);
    await button(first, /Refresh/).click();
    await waitForText(
      lastBotText(first),
      new RegExp(`Your farm · level \\d+ · ${before + prize} 🪙`),
    );
  });

  it('📊 Report: "Preparing your report…" at once, then the picture in its place', async () => {
    await new Promise((resolve) => setTimeout(resolve, 2100)); // a fresh flood-throttle window
    const box = first.getByRole('textbox', { name: 'Message to the bot' });
    await box.fill('/farm');
    await box.press('Enter');
    await waitForText(lastBotText(first), /Your farm · level/);
    await button(first, /Report/).click();
    const spinner = botMessages(first).filter({ hasText: /Preparing your report/ });
    await expect.poll(() => spinner.count(), { timeout: WAIT_MS }).toBe(1);
    const id = await spinner.getAttribute('data-message-id');
    const message = first.locator(`[data-message-id="${id}"]`);
    const picture = message.locator('img.photo');
    await expect.poll(() => picture.count(), { timeout: 20_000 }).toBe(1);
    // Loaded and drawn at its real size: the browser decoded the PNG the bot uploaded.
    await expect
      .poll(
        () =>
          picture.evaluate((img: { complete: boolean; naturalWidth: number }) =>
            img.complete ? img.naturalWidth : 0,
          ),
        { timeout: WAIT_MS },
      )
      .toBe(1200);
    await waitForText(message, /Your farm report/);
    expect(await message.textContent()).not.toMatch(/Preparing/);
    expect(await message.getByRole('link', { name: /Open it in a browser/ }).count()).toBe(1);
  }, 60_000);
});
