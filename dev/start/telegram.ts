/**
 * Telegram for `npm start` without a bot token: the local Bot API server on 127.0.0.1 with
 * Telegram's limits on, the bot configured to use it, and the players the web chat page plays as.
 *
 * The bot runs in webhook mode, as in production: the local server POSTs each update to the bot's
 * own HTTP server with a secret made up for this run, and the bot's answer (200, or 503 while
 * Temporal or Redis is down) tells the player API whether to deliver it again, as Telegram would.
 * Long polling would drop an update that failed.
 */
import { randomBytes } from 'node:crypto';
import { WEBHOOK_PATH } from '../../bot/routes/webhook';
import type { Config } from '../../infra/config';
import { type Retention, startTestBotApi, type TestBotApi } from '../bot-api';
import { createPlayerApi, type PlayerApi } from '../bot-api/player-api';

/** Only the local Bot API server knows this token; Telegram would refuse it. */
export const LOCAL_BOT_TOKEN = '1000000001:farmflow-local-bot-api-server';

/**
 * What the local server keeps while `npm start` runs for days: enough for every chat a person
 * plays in the web chat page (which shows the last 100 messages), not an ever-growing recording.
 */
export const LOCAL_RETENTION = {
  chats: 1000,
  messagesPerChat: 500,
  calls: 10_000,
  updates: 10_000,
} as const satisfies Retention;
/** Players whose web chat state (version, notices) is kept. */
export const LOCAL_MAX_PLAYERS = 1000;

export interface LocalTelegram {
  /** The configuration with its `telegram` part pointing at the local server. */
  config: Config;
  api: TestBotApi;
  players: PlayerApi;
  close(): Promise<void>;
}

export async function startLocalTelegram(config: Config): Promise<LocalTelegram> {
  const api = await startTestBotApi({
    token: LOCAL_BOT_TOKEN,
    host: '127.0.0.1',
    botInfo: { first_name: 'farmflow', username: 'farmflow_local_bot' },
    // The chats live in memory, the farms in Temporal: a player back after a restart of
    // `npm start` gets answers in a chat this server has not seen yet.
    acceptUnknownChats: true,
    retention: LOCAL_RETENTION,
    // Left at their defaults on purpose: Telegram's flood limits, and update ids from the clock,
    // since the bot keys workflows and reply marks on update ids and those outlive a restart.
  });
  const players = createPlayerApi(api, { maxPlayers: LOCAL_MAX_PLAYERS });
  return {
    config: {
      ...config,
      telegram: {
        token: LOCAL_BOT_TOKEN,
        apiRoot: api.url,
        mode: 'webhook',
        webhookUrl: `http://${reachableHost(config.http.host)}:${config.http.port}${WEBHOOK_PATH}`,
        webhookSecret: randomBytes(24).toString('base64url'),
      },
    },
    api,
    players,
    async close() {
      players.close();
      await api.close();
    },
  };
}

/** Where this machine reaches a server listening on `host`. */
function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
