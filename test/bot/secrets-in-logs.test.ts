/**
 * The bot token and the webhook secret never reach the logs, even when the Bot API fails in the
 * ways whose errors carry the request URL (and so the token): a proxy's HTML 502 (grammY cannot
 * parse the answer) and a reset connection. Telegram is faked: the local test Bot API server,
 * behind a small proxy in this file that injects those two faults on demand.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BOT_TOKEN,
  newTelegramUser,
  startTestBot,
  type TestBot,
  WEBHOOK_SECRET,
} from '../support/bot';
import { TEST_SECRET } from '../support/game';
import { lastMessage } from '../support/telegram';

type Fault = 'none' | 'html502' | 'reset';

interface FaultyProxy {
  /** The proxy's URL, forwarding to `target` while no fault is set. */
  url: string;
  target: string;
  fault: Fault;
  close(): Promise<void>;
}

async function startFaultyProxy(): Promise<FaultyProxy> {
  const proxy: FaultyProxy = { url: '', target: '', fault: 'none', close: async () => {} };
  const server: Server = createServer((req, res) => {
    if (proxy.fault === 'html502') {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>');
      return;
    }
    if (proxy.fault === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    const upstream = request(
      `${proxy.target}${req.url}`,
      { method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

describe('secrets stay out of the logs when the Bot API fails', () => {
  const logged: string[] = [];
  let proxy: FaultyProxy;
  let b: TestBot;

  beforeAll(async () => {
    proxy = await startFaultyProxy();
    b = await startTestBot({
      mode: 'webhook',
      // Everything the process logs, at every level.
      log: { level: 'trace', destination: { write: (line: string) => void logged.push(line) } },
      apiRoot: (botApiUrl) => {
        proxy.target = botApiUrl;
        return proxy.url;
      },
    });
  });
  afterAll(async () => {
    await b?.close();
    await proxy?.close();
  });

  it('an HTML 502 and a reset connection, on commands and button presses: neither secret is logged', async () => {
    const user = newTelegramUser();
    await b.api.sendText(user, '/start');
    const farm = lastMessage(b.api, user.id);
    expect(farm.text).toMatch(/Your farm/);

    for (const fault of ['html502', 'reset'] as const) {
      proxy.fault = fault;
      // Whatever the webhook answers (the replies failed), each update reaches the bot.
      await b.api.sendText(user, '/farm');
      await b.api.sendText(user, '/help');
      await b.api.sendText(user, 'hello'); // not a command: the bot's hint
      await b.api.pressButton(user, { chat_id: user.id, message_id: farm.message_id }, '1:f');
      await b.api.pressButton(user, { chat_id: user.id, message_id: farm.message_id }, '1:d');
      proxy.fault = 'none';
    }

    const all = logged.join('');
    for (const secret of [BOT_TOKEN, BOT_TOKEN.split(':')[1]!, WEBHOOK_SECRET, TEST_SECRET]) {
      expect(all).not.toContain(secret);
      expect(all).not.toContain(encodeURIComponent(secret));
    }
    // The failures were logged, with the request URL that carried the token, scrubbed.
    expect(all).toMatch(/invalid json response body at http:[^ ]*\/bot\[redacted\]\/sendMessage/);
    expect(all).toMatch(
      /request to http:[^ ]*\/bot\[redacted\]\/\w+ failed, reason: read ECONNRESET/,
    );
  });
});
