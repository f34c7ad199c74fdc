/**
 * The support and designers' console (/console on the admin listener) in headless Chromium,
 * against local play as `npm start` runs it: a player plays in the web chat, then support signs in
 * with a support token, reads the player's story and compensates them (once, whatever the double
 * click), and a designer signs in with the admin token and pauses and unpauses a schedule.
 *
 * Two tests stand the page before answers of the project's own API that a real run cannot be
 * caught giving on cue (routed in the browser, and said so where they are): a story holding
 * markup and failures, and a batch caught half-way (a real batch over a few players ends before
 * the page's first poll; batches are run for real in player-batch.test.ts). Telegram is the local
 * Bot API server. CONSOLE_SCREENSHOT=1 also saves docs/console.png: the console showing the
 * player's story.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_CONTENT_SECURITY_POLICY } from '../../../bot/page-files';
import type { PlayerStory } from '../../../bot/support/story';
import { userHash } from '../../../infra/identity';
import { scheduleDefinitions } from '../../../schedules/catalog';
import { createScheduleOperations } from '../../../schedules/engine';
import { USER_HASH_SEARCH_ATTRIBUTE, WORKFLOW_TYPES } from '../../../workflows/contract';
import {
  botMessages,
  lastBotText,
  launchChromium,
  startWebChatStack,
  waitForText as waitForTextWithin,
  type WebChatStack,
} from '../../dev/web-chat/support';
import type { RunningWorker } from '../../support/temporal';
import { TEST_SECRET, TEST_TIME_SCALE } from '../../support/game';
import { deleteSchedules } from '../../support/schedules';

const WAIT_MS = 15_000;
const ADMIN_TOKEN = randomBytes(32).toString('hex');
const SUPPORT_NAME = 'alice';
const SUPPORT_TOKEN = randomBytes(32).toString('hex');
const TOKEN_KEY = 'farmflow.console.token';
const SCREENSHOT = join(__dirname, '../../../docs/console.png');

const waitForText = (locator: Locator, pattern: RegExp) =>
  waitForTextWithin(locator, pattern, WAIT_MS);

describe('the console', () => {
  let stack: WebChatStack;
  let adminUrl: string;
  let browser: Browser;
  let context: BrowserContext;
  const idPrefix = `console-${randomUUID().slice(0, 8)}-`;
  /** The player's support code, once they played. */
  let code: string;

  beforeAll(async () => {
    browser = await launchChromium();
    stack = await startWebChatStack({
      adminListener: true,
      env: {
        ADMIN_TOKEN,
        SUPPORT_TOKENS: `${SUPPORT_NAME}:${SUPPORT_TOKEN}`,
        SUPPORT_GRANT_MAX_COINS: '500',
      },
      schedulesIdPrefix: idPrefix,
    });
    adminUrl = stack.service.adminUrl!;
    // The catalog as a designer applies it, under this file's own ids and game task queue.
    const schedules = createScheduleOperations({
      client: stack.t.client,
      idPrefix,
      definitions: scheduleDefinitions({
        timeScale: TEST_TIME_SCALE,
        taskQueue: stack.t.taskQueue,
        idPrefix,
      }),
    });
    await schedules.apply();
    // No market ticks while the test runs: it reads the farms, not the market.
    await schedules.pause(`${idPrefix}market-tick`, 'quiet while the console test runs');
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    if (stack) await deleteSchedules(stack.t.client, idPrefix);
    await stack?.close();
  });

  /** A console tab that records script errors and policy violations. */
  async function openConsole(path = '/console') {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      // Chromium logs the API's refusals (401, 400) as failed loads: those are answers.
      if (
        message.type() === 'error' &&
        !/^Failed to load resource: the server responded with a status of 4\d\d/.test(
          message.text(),
        )
      )
        problems.push(message.text());
    });
    await page.goto(`${adminUrl}${path}`);
    return { page, problems };
  }

  async function signIn(page: Page, token: string) {
    await page.locator('#token').fill(token);
    await page.locator('#sign-in').click();
  }

  /** Searches the code until the timeline has a row matching `pattern` (visibility lags). */
  async function searchUntil(page: Page, rows: Locator, what: string) {
    await page.locator('#code').fill(code);
    await expect
      .poll(
        async () => {
          await page.locator('#search').click();
          await expect.poll(() => page.locator('#search').isEnabled()).toBe(true);
          return rows.count();
        },
        { timeout: WAIT_MS, interval: 500, message: what },
      )
      .toBeGreaterThan(0);
  }

  async function story(token: string, query = ''): Promise<PlayerStory> {
    const response = await fetch(`${adminUrl}/support/players/${code}${query}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as PlayerStory;
  }

  it('serves the page with the strict policy, and refuses a wrong token', async () => {
    for (const path of ['/console', '/console/console.mjs', '/console/console.css']) {
      const response = await fetch(`${adminUrl}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-security-policy'), path).toBe(
        PAGE_CONTENT_SECURITY_POLICY,
      );
    }

    const { page, problems } = await openConsole();
    await expect.poll(() => page.locator('#token').isVisible()).toBe(true);
    expect(await page.locator('#token').getAttribute('type')).toBe('password');
    await signIn(page, randomBytes(32).toString('hex'));
    await waitForText(page.locator('#sign-in-error'), /That token was refused/);
    expect(await page.locator('#sign-in-error').isVisible()).toBe(true);
    // Still signed out: no support or designers' part, and no token kept.
    expect(await page.locator('#signed-out').isVisible()).toBe(true);
    expect(await page.locator('#signed-in').isHidden()).toBe(true);
    expect(await page.locator('#support').isHidden()).toBe(true);
    expect(await page.locator('#designers').isHidden()).toBe(true);
    expect(await page.evaluate(`sessionStorage.getItem('${TOKEN_KEY}')`)).toBeNull();
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows support a player's story, and compensates them once for a double click", async () => {
    // The player: /start, plant wheat, the daily bonus, in the web chat.
    const chat = await context.newPage();
    await chat.goto(`${stack.url}/`);
    await chat.getByRole('button', { name: /^start$/i }).click();
    await waitForText(lastBotText(chat), /Your farm · level 1 · 50 🪙/);
    const press = (name: RegExp) => botMessages(chat).last().getByRole('button', { name }).click();
    await press(/Plant on 1/);
    await waitForText(lastBotText(chat), /What to plant on plot 1/);
    await press(/Wheat/);
    await waitForText(lastBotText(chat), /Planted wheat on plot 1/);
    await press(/Bonus/);
    await waitForText(lastBotText(chat), /Daily bonus: \+50/);
    await waitForText(lastBotText(chat), /Your farm · level 1 · 95 🪙/);
    const players = await chat.evaluate<string | null>("localStorage.getItem('farmflow.players')");
    const playerId = (JSON.parse(players ?? '[]') as { id: number }[])[0]!.id;
    code = userHash(playerId, TEST_SECRET);
    await chat.close();

    const { page, problems } = await openConsole();
    await signIn(page, SUPPORT_TOKEN);
    await waitForText(page.locator('#session-name'), new RegExp(`^${SUPPORT_NAME}$`));
    expect(await page.locator('#session-role').textContent()).toBe('support');
    expect(await page.locator('#designers').isHidden()).toBe(true);
    expect(await page.locator('#signed-out').isHidden()).toBe(true);
    expect(await page.evaluate(`sessionStorage.getItem('${TOKEN_KEY}')`)).toBe(SUPPORT_TOKEN);

    // A code that is none is refused with the API's own words.
    await page.locator('#code').fill('not-a-code');
    await page.locator('#search').click();
    await waitForText(page.locator('#story-status'), /16 characters of a-z and 2-7/);
    expect(await page.locator('#story-status').getAttribute('class')).toMatch(/\berror\b/);
    expect(await page.locator('#story').isHidden()).toBe(true);

    // The moves, as the timeline tells them.
    const timeline = page.locator('#timeline tbody tr');
    await searchUntil(
      page,
      timeline.filter({ hasText: 'plant wheat on plot 1: planted' }),
      'the timeline shows the plant',
    );
    await searchUntil(
      page,
      timeline.filter({ hasText: 'claim the daily bonus' }),
      'the timeline shows the bonus',
    );
    expect(await timeline.filter({ hasText: 'farm created' }).count()).toBe(1);
    expect(await page.locator('#farm-coins').textContent()).toBe('95');
    expect(await page.locator('#farm-level').textContent()).toBe('1');
    expect(await page.locator('#farm-plots li').first().textContent()).toMatch(/^Plot 1: wheat, /);
    expect(await page.locator('#registry-source').textContent()).toBe('registry (Redis copy)');
    const ui = page.locator('#temporal-ui');
    expect(await ui.getAttribute('href')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/namespaces\//);
    expect(await ui.getAttribute('href')).toContain(code);
    expect(await ui.getAttribute('target')).toBe('_blank');
    expect(await ui.getAttribute('rel')).toBe('noopener noreferrer');
    // Every workflow row links into the Temporal UI.
    const workflows = page.locator('#workflows tbody tr');
    expect(await workflows.count()).toBeGreaterThanOrEqual(3);
    expect(await workflows.filter({ hasText: WORKFLOW_TYPES.gameFarm }).count()).toBe(1);
    for (const link of await workflows.locator('a').all())
      expect(await link.getAttribute('href')).toMatch(
        /^http:\/\/127\.0\.0\.1:\d+\/namespaces\/.+\/history$/,
      );

    // A compensation, the submit button double-clicked, and its answer lost on the way back
    // (the server paid): the press again sends the same idempotency key, and it is paid once.
    await page.locator('#grant-coins').fill('25');
    await page.locator('#grant-reason').fill('Sorry for the lost harvest');
    expect(await page.locator('#grant-coins').getAttribute('max')).toBe('500');
    const keys: string[] = [];
    await page.route('**/grants', async (route) => {
      keys.push((route.request().postDataJSON() as { idempotencyKey: string }).idempotencyKey);
      if (keys.length > 1) return route.continue();
      await route.fetch();
      await route.abort('connectionreset');
    });
    await page.locator('#grant-submit').dblclick();
    await waitForText(page.locator('#grant-result'), /^No answer .*press again, it pays once/);
    expect(await page.locator('#grant-result').getAttribute('class')).toMatch(/\berror\b/);
    expect(keys).toHaveLength(1);
    await page.locator('#grant-submit').click();
    await waitForText(
      page.locator('#grant-result'),
      new RegExp(`^Already granted: 25 coins by ${SUPPORT_NAME}`),
    );
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
    await page.unroute('**/grants');
    // The page's log of the lost answer.
    problems.splice(0, problems.length, ...problems.filter((p) => !/ERR_CONNECTION_RESET/.test(p)));
    expect(await page.locator('#grant-result').getAttribute('class')).toMatch(/\bok\b/);
    const after = await story(SUPPORT_TOKEN);
    expect(after.farm?.coins).toBe(95 + 25);
    const grants = await stack.t.client.workflow.count(
      `${USER_HASH_SEARCH_ATTRIBUTE.name} = '${code}' AND WorkflowType = '${WORKFLOW_TYPES.supportGrant}'`,
    );
    expect(grants.count).toBe(1);
    expect(
      after.timeline.filter((e) => e.kind === 'grant' && e.summary.includes('lost harvest')),
    ).toHaveLength(1);

    // The timeline shows the compensation and who granted it; the farm shows the coins.
    const compensation = timeline.filter({
      hasText: `compensation of 25 coins by ${SUPPORT_NAME}`,
    });
    await searchUntil(page, compensation, 'the timeline shows the compensation');
    expect(await compensation.count()).toBe(1);
    expect(await compensation.getAttribute('data-by')).toBe(SUPPORT_NAME);
    expect(
      await timeline.filter({ hasText: '+25 coins: Sorry for the lost harvest' }).count(),
    ).toBe(1);
    expect(await page.locator('#farm-coins').textContent()).toBe('120');

    // Another press with the form filled again is a new compensation (a new key): paid again.
    await page.locator('#grant-coins').fill('5');
    await page.locator('#grant-reason').fill('A second, separate apology');
    await page.locator('#grant-submit').click();
    await waitForText(page.locator('#grant-result'), /^Granted: 5 coins by alice/);
    expect(keys).toHaveLength(2);
    expect((await story(SUPPORT_TOKEN)).farm?.coins).toBe(120 + 5);
    expect(problems).toEqual([]);

    if (process.env.CONSOLE_SCREENSHOT === '1') {
      await searchUntil(
        page,
        timeline.filter({ hasText: 'A second, separate apology' }),
        'the timeline shows the second compensation',
      );
      await page.evaluate('window.scrollTo(0, 0)');
      await page.screenshot({ path: SCREENSHOT });
    }

    // Signing out forgets the token.
    await page.locator('#sign-out').click();
    expect(await page.locator('#signed-out').isVisible()).toBe(true);
    expect(await page.locator('#signed-in').isHidden()).toBe(true);
    expect(await page.evaluate(`sessionStorage.getItem('${TOKEN_KEY}')`)).toBeNull();
    await page.close();
  });

  it('pages the timeline with Older', async () => {
    const { page, problems } = await openConsole('/console?limit=3');
    await signIn(page, SUPPORT_TOKEN);
    await page.locator('#code').fill(code);
    await page.locator('#search').click();
    const rows = page.locator('#timeline tbody tr');
    await expect.poll(() => rows.count()).toBe(3);
    const all = (await story(SUPPORT_TOKEN, '?limit=500')).timeline.map((e) => e.summary);
    expect(all.length).toBeGreaterThan(6);
    // Each press adds the next page below, until the first entry.
    for (let shown = 3; shown < all.length; shown += 3) {
      expect(await page.locator('#older').isVisible()).toBe(true);
      await page.locator('#older').click();
      await expect.poll(() => rows.count()).toBe(Math.min(shown + 3, all.length));
    }
    // A last page exactly full still offers Older, which then finds nothing more.
    if (await page.locator('#older').isVisible()) {
      await page.locator('#older').click();
      await expect.poll(() => page.locator('#older').isHidden()).toBe(true);
    }
    expect(await rows.locator('td.summary').allTextContents()).toEqual(
      all.map((summary) => expect.stringContaining(summary) as unknown),
    );
    expect(await page.locator('#older').isHidden()).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("highlights failures, and shows the API's text as text only and its links only if http(s)", async () => {
    const { page, problems } = await openConsole();
    // A story routed in the browser: no real farm holds markup in its log, nor fails on cue.
    const fake = 'abcdefghijklmnop';
    const evil = '<img src=x onerror="window.pwned=1">';
    const now = Date.now();
    const row = (id: string, failed: boolean, link: string) => ({
      type: 'MainMenuMessageWorkflow',
      id,
      runId: `${id}-run`,
      status: failed ? ('FAILED' as const) : ('COMPLETED' as const),
      startTime: new Date(now - 2000).toISOString(),
      closeTime: new Date(now - 1000).toISOString(),
      failed,
      link,
    });
    const failed = row('msg-failed', true, 'javascript:window.pwned=1');
    const answer: PlayerStory = {
      userHash: fake,
      generatedAt: new Date(now).toISOString(),
      farm: null,
      farmNote: `the farm did not answer: ${evil}`,
      registry: { source: 'registry (Redis copy)', entry: null, note: evil },
      temporalUi: 'javascript:window.pwned=1',
      workflowTotal: 2,
      workflows: [row('msg-ok', false, 'http://ui.example/ok/history'), failed],
      failures: [failed],
      timeline: [
        {
          time: new Date(now - 1000).toISOString(),
          kind: 'message',
          summary: `sell 3 wheat: failed: ${evil}`,
          source: 'temporal',
          failed: true,
          workflowId: failed.id,
          runId: failed.runId,
        },
        {
          time: new Date(now - 2000).toISOString(),
          kind: 'message',
          summary: 'plant wheat on plot 1: planted, 5 coins spent',
          source: 'temporal',
          workflowId: 'msg-ok',
          runId: 'msg-ok-run',
        },
      ],
      nextBefore: null,
    };
    await page.route(
      (url) => url.pathname === `/support/players/${fake}`,
      (route) => route.fulfill({ json: answer }),
    );
    await signIn(page, SUPPORT_TOKEN);
    await page.locator('#code').fill(fake);
    await page.locator('#search').click();
    const rows = page.locator('#timeline tbody tr');
    await expect.poll(() => rows.count()).toBe(2);

    // The failed entry, workflow and failure stand out.
    expect(await rows.nth(0).getAttribute('class')).toMatch(/\bfailed\b/);
    expect((await rows.nth(1).getAttribute('class')) ?? '').not.toMatch(/\bfailed\b/);
    expect(await page.locator('#workflows tbody tr.failed').count()).toBe(1);
    expect(await page.locator('#failures-list li.failed').count()).toBe(1);
    expect(await page.locator('#failures-list li').textContent()).toContain('msg-failed');
    expect(await page.locator('#failures').getAttribute('class')).not.toMatch(/\bclean\b/);

    // Markup in the answer is text; a javascript: link is no link.
    expect(await rows.nth(0).locator('td.summary').textContent()).toBe(
      `sell 3 wheat: failed: ${evil}`,
    );
    expect(await page.locator('#farm-note').textContent()).toBe(`the farm did not answer: ${evil}`);
    expect(await page.locator('#farm-body').isHidden()).toBe(true);
    expect(await page.locator('#registry-note').textContent()).toBe(evil);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('#temporal-ui').isHidden()).toBe(true);
    expect(await page.locator('#temporal-ui').getAttribute('href')).toBeNull();
    expect(await page.locator('#failures-list a').count()).toBe(0);
    const hrefs = await Promise.all(
      (await page.locator('#story a[href]').all()).map((link) => link.getAttribute('href')),
    );
    expect(hrefs.length).toBeGreaterThan(0);
    for (const href of hrefs) expect(href).toBe('http://ui.example/ok/history');
    expect(await page.locator('#older').isHidden()).toBe(true);
    expect(await page.evaluate('typeof window.pwned')).toBe('undefined');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('keeps a compensation recorded while no game worker runs (202 pending) as it was sent, with its key, and it is paid once when one is back', async () => {
    const { page, problems } = await openConsole();
    await signIn(page, SUPPORT_TOKEN);
    await searchUntil(page, page.locator('#timeline tbody tr'), 'the story shows');
    const before = (await story(SUPPORT_TOKEN)).farm!.coins;
    const keys: string[] = [];
    await page.route('**/grants', (route) => {
      keys.push((route.request().postDataJSON() as { idempotencyKey: string }).idempotencyKey);
      return route.continue();
    });
    // No game worker: the compensation is recorded in Temporal, and nothing runs it yet.
    await stack.gameWorker.stop();
    let worker: RunningWorker | undefined;
    try {
      await page.locator('#grant-coins').fill('7');
      await page.locator('#grant-reason').fill('Paid when the workers are back');
      await page.locator('#grant-submit').click();
      await waitForText(page.locator('#grant-result'), /^Recorded, not paid yet: 7 coins/);
      // Its amount and reason are locked: another amount would be another compensation.
      expect(await page.locator('#grant-coins').isEditable()).toBe(false);
      expect(await page.locator('#grant-reason').isEditable()).toBe(false);

      worker = await stack.startGameWorker();
      await expect
        .poll(
          async () => {
            await page.locator('#grant-submit').click();
            await expect.poll(() => page.locator('#grant-submit').isEnabled()).toBe(true);
            return (await page.locator('#grant-result').textContent()) ?? '';
          },
          { timeout: WAIT_MS, interval: 500 },
        )
        .toMatch(/^Already granted: 7 coins by alice/);
      expect(new Set(keys).size).toBe(1);
      expect(await page.locator('#grant-coins').isEditable()).toBe(true);
      expect((await story(SUPPORT_TOKEN)).farm!.coins).toBe(before + 7);
    } finally {
      stack.gameWorker = worker ?? (await stack.startGameWorker());
    }
    expect(problems).toEqual([]);
    await page.close();
  });

  it('lets the admin token pause and unpause a schedule with a note', async () => {
    const { page, problems } = await openConsole();
    await signIn(page, ADMIN_TOKEN);
    await waitForText(page.locator('#session-role'), /^admin$/);
    expect(await page.locator('#designers').isVisible()).toBe(true);
    // The admin token reads stories too.
    expect(await page.locator('#support').isVisible()).toBe(true);

    const id = `${idPrefix}event-harvest-fair`;
    const row = page.locator(`[data-schedule="${id}"]`);
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.getAttribute('data-paused')).toBe('false');
    expect(await row.locator('.next-runs li').count()).toBeGreaterThan(0);
    // The market tick the test paused shows paused, with its note.
    const tick = page.locator(`[data-schedule="${idPrefix}market-tick"]`);
    expect(await tick.getAttribute('data-paused')).toBe('true');
    expect(await tick.locator('[data-testid="schedule-note"]').textContent()).toBe(
      'quiet while the console test runs',
    );

    // No pause without a note.
    await row.locator('[data-action="pause"]').click();
    await waitForText(row.locator('.row-status'), /Write a note first/);
    expect(await row.getAttribute('data-paused')).toBe('false');

    await row.locator('[data-field="note"]').fill('Fair moved: paused by the console test');
    await row.locator('[data-action="pause"]').click();
    await expect.poll(() => row.getAttribute('data-paused')).toBe('true');
    expect(await row.locator('[data-testid="schedule-state"]').textContent()).toBe('paused');
    expect(await row.locator('[data-testid="schedule-note"]').textContent()).toBe(
      'Fair moved: paused by the console test',
    );
    const described = async () => {
      const response = await fetch(`${adminUrl}/admin/schedules/${id}`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(response.status).toBe(200);
      return (await response.json()) as { paused: boolean; note: string; recentRuns: unknown[] };
    };
    expect(await described()).toMatchObject({
      paused: true,
      note: 'Fair moved: paused by the console test',
    });

    // Still paused after a reload: the tab kept the token, the page reads Temporal afresh.
    await page.reload();
    await expect.poll(() => row.getAttribute('data-paused')).toBe('true');
    await row.locator('[data-field="note"]').fill('Back on');
    await row.locator('[data-action="unpause"]').click();
    await expect.poll(() => row.getAttribute('data-paused')).toBe('false');
    expect(await described()).toMatchObject({ paused: false, note: 'Back on' });

    // Trigger: the schedule starts a run now (the fair lasts seconds at the tests' time scale).
    await row.locator('[data-action="trigger"]').click();
    await waitForText(row.locator('.row-status'), /^Triggered at /);
    await expect.poll(async () => (await described()).recentRuns.length).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('follows a running batch with a progress bar until it is done', async () => {
    const { page, problems } = await openConsole();
    // Routed in the browser: the batches as the admin API lists them, one caught running, polled
    // every second (see the file's header).
    const polls: number[] = [];
    // The second answer waits until the test has seen the first.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/admin/batches', (route) =>
      route.fulfill({
        json: {
          batches: [
            {
              batchId: 'console-test-batch',
              workflowId: 'batch-console-test-batch',
              status: 'RUNNING',
              startedAt: new Date().toISOString(),
              closedAt: null,
              memo: {
                batchId: 'console-test-batch',
                population: { kind: 'all' },
                payload: { kind: 'grant', coins: 10, xp: 0, reason: 'sorry for the outage' },
              },
            },
          ],
        },
      }),
    );
    await page.route('**/admin/batches/batch-console-test-batch', async (route) => {
      polls.push(Date.now());
      const done = Math.min(polls.length * 4, 10);
      if (polls.length > 1) await released;
      await route.fulfill({
        json: {
          state: done === 10 ? 'done' : 'running',
          done,
          total: 10,
          failures: 0,
          failureSamples: [],
          ratePerSecond: 4,
          etaMs: done === 10 ? 0 : 1500,
          startedAtMs: Date.now() - 1000,
          updatedAtMs: Date.now(),
        },
      });
    });
    await signIn(page, ADMIN_TOKEN);
    const row = page.locator('#batches [data-batch="console-test-batch"]');
    await waitForText(row, /10 coins to every player: sorry for the outage/);
    const bar = row.locator('progress');
    await expect.poll(() => bar.getAttribute('max')).toBe('10');
    await waitForText(row.locator('[data-testid="batch-progress"]'), /^4\/10 · running/);
    expect(await bar.getAttribute('value')).toBe('4');
    release();
    await waitForText(row.locator('[data-testid="batch-progress"]'), /^10\/10 · done/);
    expect(await bar.getAttribute('value')).toBe('10');
    // Polled about every second, and no more once it is done.
    expect(polls).toHaveLength(3);
    expect(polls[2]! - polls[0]!).toBeGreaterThanOrEqual(1800);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(polls).toHaveLength(3);
    expect(problems).toEqual([]);
    await page.close();
  });
});
