/** Ordinary activities of the game task queue: side effects the farms ask for. */
import { log } from '@temporalio/activity';
import { decryptChatId } from '../identity';
import { createPlayerRegistry } from '../store/players';
import type { RedisClient } from '../store/redis';

export interface ActivityDeps {
  redis: RedisClient;
  keyPrefix: string;
  userHashSecret: string;
}

export interface RegisterPlayerInput {
  userHash: string;
  sealedChatId: string;
  joinedAtMs: number;
}

export function createActivities(deps: ActivityDeps) {
  const players = createPlayerRegistry(deps.redis, deps.keyPrefix);
  return {
    /** Adds a new farm's player to the registry that batches and notifications page through. */
    async registerPlayer(input: RegisterPlayerInput): Promise<void> {
      const chatId = decryptChatId(input.sealedChatId, deps.userHashSecret);
      await players.register({ userHash: input.userHash, chatId, joinedAtMs: input.joinedAtMs });
      log.info('player registered');
    },
  };
}

export { createMainMenuActivities } from './main-menu';
