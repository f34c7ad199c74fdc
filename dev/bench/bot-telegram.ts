/**
 * bench:bot's simulated Telegram, in a process of its own (forked by dev/bench/bot.ts): the local Bot
 * API server with Telegram's limits on, and the players who press its buttons. Each player sends
 * its next update when the Bot API call carrying the screen for the last one has arrived.
 */
import { SLOW_DOWN_TEXT, WORKING_TEXT } from '../../bot/render';
import { type RecordedCall, startTestBotApi } from '../bot-api';
import {
  advance,
  BENCH_BOT_TOKEN,
  CYCLE,
  FARM_COMMAND,
  isCommand,
  type Reply,
  type Request,
  type Sample,
  type ScriptPosition,
  THROTTLE,
  type WebhookBlock,
  type WebhookSummary,
} from './bot-script';

const SCREEN_TIMEOUT_MS = 60_000;

interface Player extends ScriptPosition {
  user: { id: number; first_name: string };
  failed: boolean;
  /** When each update was sent, for the throttle check. */
  sentAt: number[];
}

interface ScreenWaiter {
  resolve(call: RecordedCall): void;
  reject(error: Error): void;
  working: boolean;
  answerMs?: number;
}

async function main() {
  const send = (reply: Reply) => process.send?.(reply);
  // The benchmark gone, this process has nothing left to do.
  process.on('disconnect', () => process.exit(0));

  const api = await startTestBotApi({ token: BENCH_BOT_TOKEN });
  const failures = new Map<string, number>();
  const fail = (what: string) => failures.set(what, (failures.get(what) ?? 0) + 1);
  const waiting = new Map<number, ScreenWaiter>();
  const deliveries = new Set<Promise<void>>();
  const calls: RecordedCall[] = [];
  let players: Player[] = [];
  let slowDowns = 0;

  api.onCall((call, chatId) => {
    calls.push(call);
    if (chatId === undefined) return;
    const waiter = waiting.get(chatId);
    const text = call.params.text;
    if (text === SLOW_DOWN_TEXT) {
      slowDowns += 1;
      if (waiter) {
        waiting.delete(chatId);
        waiter.reject(new Error('the bot throttled the player'));
      }
      return;
    }
    if (!waiter) return;
    if (call.method === 'answerCallbackQuery') waiter.answerMs ??= call.at;
    if (call.method !== 'editMessageText' && call.method !== 'sendMessage') return;
    if (!call.response.ok) return; // a 429: the bot retries it
    if (text === WORKING_TEXT) {
      waiter.working = true;
      return;
    }
    waiting.delete(chatId);
    waiter.resolve(call);
  });

  const waitForScreen = (chatId: number) => {
    let waiter!: ScreenWaiter;
    const screen = new Promise<RecordedCall>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(chatId);
        reject(new Error(`no screen within ${SCREEN_TIMEOUT_MS / 1000} s`));
      }, SCREEN_TIMEOUT_MS);
      waiter = {
        working: false,
        resolve: (call) => {
          clearTimeout(timer);
          resolve(call);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
    waiting.set(chatId, waiter);
    return { screen, waiter };
  };

  /** One update through the webhook, until the call carrying its result screen arrives. */
  const play = async (
    player: Player,
    action: { text: string } | { button: RegExp },
    expect: RegExp,
  ): Promise<Sample | undefined> => {
    const chatId = player.user.id;
    let pressed: { message_id: number; data: string } | undefined;
    if ('button' in action) {
      const message = api.messages(chatId).at(-1);
      const button = message?.reply_markup?.inline_keyboard
        .flat()
        .find((b) => action.button.test(b.text));
      if (!message || !button || !('callback_data' in button)) {
        fail(`no button ${action.button} on the screen`);
        player.failed = true;
        return undefined;
      }
      pressed = { message_id: message.message_id, data: button.callback_data };
    }
    const { screen, waiter } = waitForScreen(chatId);
    const sample: Sample = {
      userId: chatId,
      startMs: Date.now(),
      endMs: Number.NaN,
      command: !pressed,
    };
    player.sentAt.push(sample.startMs);
    const delivery = (
      pressed
        ? api.pressButton(
            player.user,
            { chat_id: chatId, message_id: pressed.message_id },
            pressed.data,
          )
        : api.sendText(player.user, 'text' in action ? action.text : '')
    ).then(
      (result) => {
        sample.webhookDoneMs = Date.now();
        if (result.status !== 200) fail(`webhook answered ${result.status ?? result.error}`);
      },
      (err: unknown) => {
        fail(`delivery failed: ${String(err)}`);
      },
    );
    deliveries.add(delivery);
    void delivery.finally(() => deliveries.delete(delivery));

    let call: RecordedCall;
    try {
      call = await screen;
    } catch (err) {
      fail((err as Error).message);
      player.failed = true;
      return undefined;
    }
    sample.endMs = call.at;
    sample.working = waiter.working;
    sample.answerMs = waiter.answerMs;
    if (!expect.test(String(call.params.text))) {
      fail(`expected ${expect}, the bot showed: ${String(call.params.text).slice(0, 80)}`);
      player.failed = true;
    }
    return sample;
  };

  const drain = async () => {
    while (deliveries.size > 0) await Promise.allSettled([...deliveries]);
  };

  const handlers: {
    [T in Request['type']]: (
      request: Extract<Request, { type: T }>,
    ) => Promise<WebhookBlock | WebhookSummary | undefined>;
  } = {
    async setup({ firstUserId, players: count }) {
      players = Array.from({ length: count }, (_, index) => ({
        index,
        step: 0,
        cycle: 0,
        user: { id: firstUserId + index, first_name: `Bench ${index + 1}` },
        failed: false,
        sentAt: [],
      }));
      await Promise.all(players.map((player) => play(player, { text: '/start' }, /Your farm/)));
      await drain();
      return undefined;
    },

    async block({ startAt, windowStart, windowEnd }) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
      const samples: Sample[] = [];
      await Promise.all(
        players.map(async (player) => {
          while (!player.failed && Date.now() < windowEnd) {
            const step = CYCLE[player.step]!;
            const sample = await play(
              player,
              isCommand(player) ? { text: FARM_COMMAND } : { button: step.button },
              isCommand(player) ? /Your farm/ : step.expect,
            );
            if (sample) samples.push(sample);
            advance(player);
          }
        }),
      );
      await drain();
      const inWindow = (at: number) => at >= windowStart && at <= windowEnd;
      const counted: Record<string, number> = {};
      for (const call of calls) {
        if (!inWindow(call.at)) continue;
        const key = call.response.ok ? call.method : `${call.method} ${call.response.error_code}`;
        counted[key] = (counted[key] ?? 0) + 1;
      }
      calls.length = 0;
      return { samples: samples.filter((s) => inWindow(s.endMs)), calls: counted };
    },

    async summary() {
      return {
        maxBurst: Math.max(0, ...players.map((p) => maxInWindow(p.sentAt, THROTTLE.windowMs))),
        slowDowns,
        failures: [...failures],
      };
    },

    async close() {
      await api.close();
      return undefined;
    },
  };

  process.on('message', (request: Request) => {
    const handle = handlers[request.type] as (r: Request) => Promise<unknown>;
    handle(request).then(
      (result) => {
        send({ type: 'done', id: request.id, result: result as WebhookBlock | WebhookSummary });
        if (request.type === 'close') process.disconnect();
      },
      (err: unknown) =>
        send({ type: 'done', id: request.id, error: (err as Error).stack ?? String(err) }),
    );
  });
  send({ type: 'ready', url: api.url });
}

/** The most timestamps (sorted) that fall in any window of `windowMs`. */
function maxInWindow(times: readonly number[], windowMs: number): number {
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while ((times[i] as number) - (times[j] as number) >= windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

void main();
