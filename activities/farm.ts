/** Ordinary activities of the game task queue: side effects the farms ask for. */
import { log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import {
  type ChatIdKeyring,
  chatIdKeyring,
  decryptChatId,
  SealedChatIdError,
} from '../infra/identity';
import { writePlayerCopy } from '../store/leaderboard';
import { createPlayerRegistry } from '../store/players';
import type { RedisClient } from '../store/redis';
import type { FarmActivities, PlayerRecordCopy, RegisterPlayerInput } from '../workflows/contract';

export interface FarmActivityDeps {
  redis: RedisClient;
  keyPrefix: string;
  userHashSecret: string;
  /** Opens sealed chat ids; by default the keys derived from `userHashSecret`. */
  chatIdKeys?: ChatIdKeyring;
}

/** The failure type of a registration no retry can fix (see README, "USER_HASH_SECRET"). */
export const SEALED_CHAT_ID_UNREADABLE = 'SealedChatIdUnreadable';

export function createFarmActivities(deps: FarmActivityDeps): FarmActivities {
  const players = createPlayerRegistry(deps.redis, deps.keyPrefix);
  const chatIdKeys = deps.chatIdKeys ?? chatIdKeyring(deps.userHashSecret);
  return {
    /**
     * Adds a new farm's player to the registry that batches and notifications page through. The
     * sealed id is opened only to prove this process can read it (where a secret mismatch between
     * bot and worker shows), and is stored sealed.
     */
    async registerPlayer(input: RegisterPlayerInput): Promise<void> {
      try {
        decryptChatId(input.sealedChatId, chatIdKeys);
      } catch (err) {
        if (!(err instanceof SealedChatIdError)) throw err;
        // The same keys give the same answer on every attempt: retrying cannot fix it.
        throw ApplicationFailure.nonRetryable(
          `Cannot open the player's sealed chat id (${err.problem}): it was sealed with another ` +
            `USER_HASH_SECRET than this worker's (or altered). Give the bot and every worker the same USER_HASH_SECRET.`,
          SEALED_CHAT_ID_UNREADABLE,
        );
      }
      await players.register({
        userHash: input.userHash,
        sealedChatId: input.sealedChatId,
        joinedAtMs: input.joinedAtMs,
      });
      log.info('player registered');
    },

    /**
     * Writes the farm's copy (registry, leaderboard, name, preferences, reachability). A late or
     * retried copy older than the stored one changes nothing.
     */
    async publishPlayer(record: PlayerRecordCopy): Promise<void> {
      let written: boolean;
      try {
        written = await writePlayerCopy(deps.redis, deps.keyPrefix, record);
      } catch (err) {
        // The same copy is refused on every attempt: retrying cannot fix it.
        if (err instanceof RangeError) {
          throw ApplicationFailure.nonRetryable(err.message, 'InvalidPlayerCopy');
        }
        throw err;
      }
      if (!written) log.info('player copy not written: Redis holds a newer one');
    },
  };
}
