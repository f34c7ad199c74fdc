/**
 * The chaos play's simulated players, and Telegram's side of their updates. Each player plays on
 * its own (one update at a time, a think time between them) through the local Bot API server,
 * which POSTs each update to the bot's webhook over at most 40 connections, as Telegram does.
 * A delivery that ends in anything but a 2xx (another status, a refused connection, a timeout)
 * is delivered again, the same update, after a pause; a 2xx is final. Every delivery and what the
 * chat showed after the final one are recorded for the checks (./checks.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseButton } from '../../bot/callback-data';
import { isNotification } from '../../bot/notifications';
import type { DeliveryResult, TestBotApi } from '../bot-api';

/** Pauses between deliveries of one update; the last repeats until the play gives up. */
const REDELIVERY_DELAYS_MS = [500, 1_000, 2_000, 4_000, 8_000];

export interface Attempt {
  at: number;
  status?: number;
  error?: string;
}

export interface UpdateRecord {
  userId: number;
  updateId: number;
  /** What the player did: `/start`, `/farm`, or the pressed button's callback data. */
  input: string;
  kind: 'command' | 'press';
  /** The message whose button was pressed; for a command, the message the reply became. */
  messageId?: number;
  sentAt: number;
  attempts: Attempt[];
  /** When a delivery got its 2xx. */
  answeredAt?: number;
  /** What the bot sent that the chat shows for this update (HTML as sent), after the 2xx. */
  told?: string;
}

export interface PlayOptions {
  api: TestBotApi;
  players: number;
  /** Telegram user ids are firstUserId … firstUserId + players - 1. */
  firstUserId: number;
  /** Mean pause between a player's answered update and its next one. */
  thinkMs: number;
  /** No new update is started after this. */
  playUntil: number;
  /** An update not answered by then is left unanswered (and the checks say so). */
  giveUpAt: () => number;
  random: () => number;
}

export interface Play {
  records: UpdateRecord[];
  /** Resolves when every player stopped (its last update answered or given up on). */
  done: Promise<void>;
}

const isOk = (result: DeliveryResult) =>
  result.filtered === true ||
  (result.status !== undefined && result.status >= 200 && result.status < 300);

/** The buttons of the newest bot message with a keyboard: the screen the player looks at. */
function screenOf(api: TestBotApi, chatId: number) {
  const messages = api.messages(chatId);
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!;
    const buttons = (message.reply_markup?.inline_keyboard ?? [])
      .flat()
      .flatMap((button) => ('callback_data' in button ? [button.callback_data] : []));
    if (buttons.length > 0) return { messageId: message.message_id, buttons };
  }
  return undefined;
}

/**
 * What a player presses next: harvest and sell what is there, plant empty plots (the crop menu,
 * then wheat), sometimes the daily bonus, a plot or a look at the farm, else refresh.
 */
function choose(buttons: string[], random: () => number): string {
  const of = (kind: string) => buttons.filter((data) => parseButton(data)?.kind === kind);
  const pick = (list: string[]) => list[Math.floor(random() * list.length)]!;
  const plantWheat = buttons.filter((data) => {
    const press = parseButton(data);
    return press?.kind === 'plant' && press.cropId === 'wheat';
  });
  if (plantWheat.length > 0) return pick(plantWheat);
  for (const kind of ['harvest', 'sell'])
    if (of(kind).length > 0 && random() < 0.9) return pick(of(kind));
  if (of('dailyBonus').length > 0 && random() < 0.5) return pick(of('dailyBonus'));
  if (of('buyPlot').length > 0 && random() < 0.05) return pick(of('buyPlot'));
  if (of('choosePlot').length > 0 && random() < 0.8) return pick(of('choosePlot'));
  return of('farm')[0] ?? pick(buttons);
}

export function startPlay(options: PlayOptions): Play {
  const { api, random } = options;
  const records: UpdateRecord[] = [];

  /** Delivers until a 2xx, as Telegram does; records each attempt. */
  const deliver = async (record: UpdateRecord, first: Promise<DeliveryResult>) => {
    let result = await first;
    for (let attempt = 0; ; attempt++) {
      record.attempts.push({
        at: Date.now(),
        ...(result.status !== undefined ? { status: result.status } : {}),
        ...(result.error !== undefined ? { error: result.error } : {}),
      });
      if (isOk(result)) {
        record.answeredAt = Date.now();
        return true;
      }
      const delay = REDELIVERY_DELAYS_MS[Math.min(attempt, REDELIVERY_DELAYS_MS.length - 1)]!;
      if (Date.now() + delay > options.giveUpAt()) return false;
      await sleep(delay);
      result = await api.redeliver(record.updateId);
    }
  };

  const player = async (userId: number) => {
    const user = { id: userId, first_name: `Chaos ${userId}` };
    const send = async (input: string, pressed?: number) => {
      const before = api.messages(userId).at(-1)?.message_id ?? 0;
      const kind = pressed === undefined ? 'command' : 'press';
      const first =
        kind === 'command'
          ? api.sendText(user, input)
          : api.pressButton(user, { chat_id: userId, message_id: pressed! }, input);
      const record: UpdateRecord = {
        userId,
        updateId: 0,
        input,
        kind,
        ...(pressed !== undefined ? { messageId: pressed } : {}),
        sentAt: Date.now(),
        attempts: [],
      };
      records.push(record);
      const delivered = first.then(
        (result) => {
          record.updateId = result.updateId;
          return result;
        },
        (err: unknown) => {
          // The chat no longer shows that button: no update was created.
          records.splice(records.indexOf(record), 1);
          throw err;
        },
      );
      const answered = await deliver(record, delivered);
      if (!answered) return false;
      const messages = api.messages(userId);
      const shown =
        kind === 'press'
          ? messages.find((message) => message.message_id === pressed)
          : messages
              .filter((message) => message.message_id > before && !isNotification(message))
              .at(-1);
      if (shown) {
        record.told = shown.source;
        if (kind === 'command') record.messageId = shown.message_id;
      }
      return true;
    };

    if (!(await send('/start'))) return;
    while (Date.now() < options.playUntil) {
      // Exponential think times around the mean: players do not move in step.
      await sleep(-Math.log(1 - random()) * options.thinkMs);
      if (Date.now() >= options.playUntil) break;
      const screen = screenOf(api, userId);
      const ok =
        !screen || random() < 0.03
          ? await send('/farm')
          : await send(choose(screen.buttons, random), screen.messageId).catch(
              // The button is gone (the screen changed meanwhile): look at the farm again.
              () => send('/farm'),
            );
      if (!ok) return;
    }
  };

  const done = Promise.all(
    Array.from({ length: options.players }, (_, i) =>
      // Spread the first messages over a second.
      sleep(random() * 1000).then(() => player(options.firstUserId + i)),
    ),
  ).then(() => undefined);
  return { records, done };
}
