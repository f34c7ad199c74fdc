/**
 * bench:batch's Telegram, in a process of its own (forked by dev/bench/batch.ts), as Telegram is:
 * the local Bot API server with Telegram's limits on, accepting chats that never wrote to the bot
 * (the benchmark's players exist only in the farms). It records when each message arrived, by
 * its own clock, so that a stall of the benchmark's process cannot bunch up the times it reports.
 */
import { startTestBotApi } from '../bot-api';
import { BENCH_BOT_TOKEN } from './bot-script';

/** What the parent asks. */
export type TelegramRequest = { type: 'count' } | { type: 'summary' } | { type: 'close' };

/** sendMessage calls Telegram accepted (arrival time, chat), its 429s, and any other error. */
export interface TelegramSummary {
  sent: { at: number; chatId: number }[];
  tooManyRequests: number;
  errors: string[];
}

export type TelegramReply =
  | { type: 'ready'; url: string }
  | { type: 'count'; sent: number }
  | ({ type: 'summary' } & TelegramSummary)
  | { type: 'closed' };

async function main() {
  const send = (reply: TelegramReply) => process.send?.(reply);
  // The benchmark gone, this process has nothing left to do.
  process.on('disconnect', () => process.exit(0));
  const api = await startTestBotApi({ token: BENCH_BOT_TOKEN, acceptUnknownChats: true });
  const summary: TelegramSummary = { sent: [], tooManyRequests: 0, errors: [] };
  api.onCall((call, chatId) => {
    if (call.method !== 'sendMessage') return;
    if (call.response.ok) summary.sent.push({ at: call.at, chatId: chatId ?? Number.NaN });
    else if (call.response.error_code === 429) summary.tooManyRequests += 1;
    else summary.errors.push(`${call.response.error_code} ${call.response.description}`);
  });
  process.on('message', (request: TelegramRequest) => {
    if (request.type === 'count') send({ type: 'count', sent: summary.sent.length });
    else if (request.type === 'summary') send({ type: 'summary', ...summary });
    else void api.close().then(() => send({ type: 'closed' }));
  });
  send({ type: 'ready', url: api.url });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:batch's Telegram: ${String(err)}\n`);
  process.exit(1);
});
