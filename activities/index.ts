/** Side effects the workflows call: Redis now, Telegram and files later. */
import type { Logger } from '../logging';
import type { RedisClient } from '../store/redis';

export interface ActivityDeps {
  redis: RedisClient;
  keyPrefix: string;
  logger: Logger;
}

export function createActivities(_deps: ActivityDeps) {
  return {};
}
