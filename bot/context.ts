/** The bot's one Context type: grammY's, plus the services every feature needs. */
import type { Context } from 'grammy';
import type { GameClient, Player } from './game-client';
import type { Logger } from '../infra/logging';
import type { PlayerRegistry } from '../store/players';
import type { RedisClient } from '../store/redis';
import type { ButtonPress } from './callback-data';
import type { Reports } from './reports';

export interface BotServices {
  game: GameClient;
  players: PlayerRegistry;
  redis: RedisClient;
  keyPrefix: string;
  logger: Logger;
  /** How long a press may take before the player sees "working…" first. */
  workingAfterMs: number;
  /** Farm reports; absent where this process makes none (a bot without the reports worker). */
  reports?: Reports;
}

export type BotContext = Context & {
  services: BotServices;
  /** The pressed button, parsed and validated; null for unknown or tampered callback data. */
  button: ButtonPress | null;
};

/** The player behind a private-chat update; farmflow is played in private chats only. */
export function playerOf(ctx: BotContext): Player | null {
  if (ctx.chat?.type !== 'private' || !ctx.from || ctx.from.is_bot) return null;
  return { telegramUserId: ctx.from.id, chatId: ctx.chat.id, firstName: ctx.from.first_name };
}
