/**
 * The bot's HTTP server sends security headers on every answer: its routes, 404s, refusals,
 * validation errors and unexpected errors alike; the web chat page keeps its own, stricter for a
 * page, policy. Through `app.inject` on `buildApp`; the bot behind the webhook never reaches
 * Telegram (its token and identity are made up, and no request here gets as far as a reply).
 */
import { Bot } from 'grammy';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../bot/app';
import type { BotContext } from '../../bot/context';
import { SECRET_HEADER, WEBHOOK_PATH } from '../../bot/routes/webhook';
import { createLogger } from '../../infra/logging';
import { startTestBotApi, type TestBotApi } from '../../dev/bot-api';
import { createPlayerApi, type PlayerApi } from '../../dev/bot-api/player-api';
import { webChatExtraRoutes } from '../../dev/web-chat/plugin';

const SECRET = 'security-headers-test-secret';

function expectSecurityHeaders(response: LightMyRequestResponse, what: string) {
  const headers = response.headers;
  expect(headers['x-content-type-options'], what).toBe('nosniff');
  const csp = String(headers['content-security-policy'] ?? '');
  expect(csp, what).toMatch(/(^|;\s*)default-src 'none'/);
  expect(csp, what).toMatch(/frame-ancestors 'none'/);
  // What @fastify/helmet adds by default.
  expect(headers['strict-transport-security'], what).toMatch(/max-age=\d+/);
  expect(headers['x-frame-options'], what).toBe('SAMEORIGIN');
  expect(headers['referrer-policy'], what).toBe('no-referrer');
  expect(headers['cross-origin-opener-policy'], what).toBe('same-origin');
  expect(headers['cross-origin-resource-policy'], what).toBe('same-origin');
  expect(headers['x-powered-by'], what).toBeUndefined();
}

describe('security headers', () => {
  let api: TestBotApi;
  let players: PlayerApi;
  let app: Awaited<ReturnType<typeof buildApp>>;

  beforeAll(async () => {
    api = await startTestBotApi({ token: '123:security-headers' });
    players = createPlayerApi(api);
    const bot = new Bot<BotContext>('123:security-headers', {
      botInfo: { ...api.botInfo },
      client: { apiRoot: api.url },
    });
    app = await buildApp({
      logger: createLogger('silent'),
      readinessChecks: {
        temporal: async () => undefined,
        redis: async () => {
          throw new Error('down');
        },
      },
      webhook: { bot, secret: SECRET },
      extraRoutes: webChatExtraRoutes({ players }),
    });
    app.get('/test/boom', async () => {
      throw new Error('unexpected');
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    players?.close();
    await api?.close();
  });

  it('are on every kind of answer the server gives', async () => {
    const cases: [string, InjectOptions, number][] = [
      ['liveness', { method: 'GET', url: '/healthz' }, 200],
      ['readiness with a dependency down', { method: 'GET', url: '/readyz' }, 503],
      ['an unknown path', { method: 'GET', url: '/nothing/here' }, 404],
      ['an unknown method', { method: 'DELETE', url: '/healthz' }, 404],
      [
        'a webhook call without the secret',
        { method: 'POST', url: WEBHOOK_PATH, payload: { update_id: 1 } },
        401,
      ],
      [
        'a webhook call with a body that is not JSON',
        {
          method: 'POST',
          url: WEBHOOK_PATH,
          headers: { [SECRET_HEADER]: SECRET, 'content-type': 'application/json' },
          payload: '{not json',
        },
        400,
      ],
      [
        'a webhook call with an unsupported content type',
        {
          method: 'POST',
          url: WEBHOOK_PATH,
          headers: { [SECRET_HEADER]: SECRET, 'content-type': 'application/xml' },
          payload: '<update/>',
        },
        415,
      ],
      [
        'a web chat API call that fails validation',
        { method: 'POST', url: '/play/api/send', payload: { userId: -1 } },
        400,
      ],
      ['an unexpected error', { method: 'GET', url: '/test/boom' }, 500],
    ];
    for (const [what, request, status] of cases) {
      const response = await app.inject(request);
      expect(response.statusCode, what).toBe(status);
      expectSecurityHeaders(response, what);
    }
  });

  it('leave the web chat page its own policy, which lets it load its script and style', async () => {
    for (const url of ['/', '/play/app.mjs', '/play/style.css']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['x-content-type-options'], url).toBe('nosniff');
      const csp = String(response.headers['content-security-policy']);
      expect(csp, url).toMatch(/script-src 'self'/);
      expect(csp, url).toMatch(/style-src 'self'/);
      expect(csp, url).toMatch(/connect-src 'self'/);
      expect(csp, url).toMatch(/frame-ancestors 'none'/);
      // One policy, not two: browsers enforce every policy they get, and the stricter one wins.
      expect(Array.isArray(response.headers['content-security-policy']), url).toBe(false);
    }
  });
});
