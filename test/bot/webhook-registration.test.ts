/**
 * Every bot process registers its webhook at start, and is ready only once it has: while its
 * registration fails, /readyz answers 503 naming the webhook; the registration is tried again,
 * and the bot is ready after it. Telegram is the local test Bot API server behind a proxy that
 * fails the first setWebhook with a 500 (mocked: Telegram itself cannot be reached here).
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBot, type TestBot } from '../support/bot';

interface ReadyAnswer {
  status: number;
  body: { status: string; checks: Record<string, string> };
}

describe('webhook registration at start', () => {
  let b: TestBot;
  let proxy: Server;
  let apiPort = 0;
  const registrations: string[] = [];
  let readyWhileFailing: ReadyAnswer | undefined;

  beforeAll(async () => {
    proxy = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        void (async () => {
          if (req.url?.endsWith('/setWebhook')) {
            registrations.push(body);
            if (registrations.length === 1) {
              // The bot listens already: what does it say while its registration fails?
              const url = new URL((JSON.parse(body) as { url: string }).url);
              const answer = await fetch(`${url.origin}/readyz`);
              readyWhileFailing = {
                status: answer.status,
                body: (await answer.json()) as ReadyAnswer['body'],
              };
              res.writeHead(500, { 'content-type': 'application/json' });
              res.end(
                JSON.stringify({
                  ok: false,
                  error_code: 500,
                  description: 'Internal Server Error',
                }),
              );
              return;
            }
          }
          const forwarded = request(
            {
              host: '127.0.0.1',
              port: apiPort,
              path: req.url,
              method: req.method,
              headers: req.headers,
            },
            (upstream) => {
              res.writeHead(upstream.statusCode ?? 502, upstream.headers);
              upstream.pipe(res);
            },
          );
          forwarded.end(body);
        })();
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyPort = (proxy.address() as AddressInfo).port;
    b = await startTestBot({
      mode: 'webhook',
      apiRoot: (url) => {
        apiPort = Number(new URL(url).port);
        return `http://127.0.0.1:${proxyPort}`;
      },
    });
  }, 60_000);

  afterAll(async () => {
    await b?.close();
    await new Promise((resolve) => proxy?.close(resolve));
  });

  it('is not ready while the registration fails, tries again, and is ready once registered', async () => {
    expect(readyWhileFailing).toEqual({
      status: 503,
      body: {
        status: 'unavailable',
        checks: { temporal: 'ok', redis: 'ok', webhook: 'not registered with Telegram yet' },
      },
    });
    // The same registration both times: URL, secret, update kinds, and pending updates kept.
    expect(registrations).toHaveLength(2);
    expect(registrations[1]).toBe(registrations[0]);
    expect(JSON.parse(registrations[1]!)).toMatchObject({
      url: b.webhookUrl,
      drop_pending_updates: false,
      allowed_updates: ['message', 'callback_query', 'my_chat_member'],
    });
    const ready = await fetch(`${new URL(b.webhookUrl).origin}/readyz`);
    expect(ready.status).toBe(200);
  });
});
