/**
 * What bench:bot's players do, and what its two processes tell each other: the benchmark's own
 * process (bot, workers, the direct players) and the simulated Telegram (the local Bot API server
 * and the players who use it through the webhook), kept apart as Telegram is from a real bot.
 */
import { DEFAULT_THROTTLE } from '../../bot/throttle';
import type { Intent } from '../../bot/game-client';

export const PLAYERS = 200;
/** Only the simulated Telegram accepts it. */
export const BENCH_BOT_TOKEN = '1000000001:farmflow-bench-local-bot-api';

export interface Step {
  /** The button the player presses on the screen the last step left. */
  button: RegExp;
  /** What the result screen says (the bot's HTML). */
  expect: RegExp;
  /** The same step for the direct path. */
  intent: Intent;
}

/** A cycle of ordinary play that always succeeds: it earns 7 coins and needs nothing else. */
export const CYCLE: readonly Step[] = [
  { button: /Plant on 1$/, expect: /What to plant on plot 1/, intent: { type: 'query' } },
  {
    button: /Wheat/,
    expect: /Planted wheat on plot 1/,
    intent: { type: 'message', action: { type: 'plant', plotId: 0, cropId: 'wheat' } },
  },
  { button: /Refresh/, expect: /Your farm/, intent: { type: 'query' } },
  {
    button: /Harvest .* on 1$/,
    expect: /Harvested 3 wheat/,
    intent: { type: 'message', action: { type: 'harvest', plotId: 0 } },
  },
  {
    button: /Sell 3 wheat/,
    expect: /Sold 3 wheat/,
    intent: { type: 'message', action: { type: 'sell', cropId: 'wheat', quantity: 3 } },
  },
];

/** Every this many cycles (a different one for each player), /farm is typed instead of Refresh. */
export const COMMAND_EVERY = 5;
export const FARM_COMMAND = '/farm';

/** Where a player is in the script. */
export interface ScriptPosition {
  /** The player's number, which spreads the /farm commands over the cycles. */
  index: number;
  step: number;
  cycle: number;
}

export function isCommand(position: ScriptPosition): boolean {
  return position.step === 2 && (position.cycle + position.index) % COMMAND_EVERY === 0;
}

export function advance(position: ScriptPosition): void {
  position.step = (position.step + 1) % CYCLE.length;
  if (position.step === 0) position.cycle += 1;
}

/** bot/throttle.ts: a player may send this many updates per window before the bot slows them. */
export const THROTTLE = {
  points: DEFAULT_THROTTLE.points,
  windowMs: DEFAULT_THROTTLE.windowSeconds * 1000,
};

/** One update from a player's send (ms since the epoch) to its result screen. */
export interface Sample {
  userId: number;
  startMs: number;
  endMs: number;
  /** Webhook only: when the callback answer reached the Bot API server (button presses). */
  answerMs?: number;
  /** Webhook only: when the webhook answered the update's POST. */
  webhookDoneMs?: number;
  /** Webhook only: "working…" was shown before the result. */
  working?: boolean;
  command?: boolean;
}

export interface WebhookBlock {
  /** Updates whose result screen arrived inside the window. */
  samples: Sample[];
  /** Bot API calls by method that arrived inside the window ("<method> <code>" when refused). */
  calls: Record<string, number>;
}

export interface WebhookSummary {
  /** The most updates one player sent in any throttle window. */
  maxBurst: number;
  /** Answers carrying the throttle's slow-down text. */
  slowDowns: number;
  failures: [string, number][];
}

/** From the benchmark to the simulated Telegram; each is answered by a `done` with its id. */
export type Request =
  | { type: 'setup'; id: number; firstUserId: number; players: number }
  | { type: 'block'; id: number; startAt: number; windowStart: number; windowEnd: number }
  | { type: 'summary'; id: number }
  | { type: 'close'; id: number };

export type Reply =
  | { type: 'ready'; url: string }
  | { type: 'done'; id: number; result?: WebhookBlock | WebhookSummary; error?: string };
