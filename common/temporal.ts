/**
 * The contract between workflows, activities, the bot and tests: search attributes, task queues,
 * workflow ids and message definitions. Imports nothing beyond the Temporal SDK, so workflow code
 * can use it.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** The player's support code; every per-player workflow carries it. */
export const USER_HASH_SEARCH_ATTRIBUTE = defineSearchAttributeKey(
  'UserHash',
  SearchAttributeType.KEYWORD,
);

/** Activity header that carries the player's support code into activity log lines. */
export const USER_HASH_HEADER = 'farmflow-user-hash';

export const TASK_QUEUES = {
  /** Long-lived farms and their ordinary activities. */
  game: 'farmflow-game',
} as const;
