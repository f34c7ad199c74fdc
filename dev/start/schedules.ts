/**
 * Applies the schedules at start, for launchers that own their Temporal server (`npm start`'s dev
 * server, `npm run stack`): the local counterpart of a deploy's `npm run schedules -- apply`.
 */
import type { Client } from '@temporalio/client';
import type { Logger } from '../../infra/logging';
import { OWNED_ID_PREFIX, scheduleDefinitions } from '../../schedules/catalog';
import { createScheduleOperations } from '../../schedules/engine';
import { TASK_QUEUES } from '../../workflows/contract';

/** Deadline of the whole apply: a slow Temporal must not hold the game back. */
const SCHEDULES_APPLY_TIMEOUT_MS = 15_000;

/**
 * Makes the launcher's own Temporal server's schedules match the definitions, built at this
 * game's time scale. A failure is logged and leaves the game running without them; the banner
 * says which.
 */
export async function applySchedules(deps: {
  client: Client;
  timeScale: number;
  logger: Logger;
}): Promise<string> {
  try {
    const operations = createScheduleOperations({
      client: deps.client,
      definitions: scheduleDefinitions({
        timeScale: deps.timeScale,
        taskQueue: TASK_QUEUES.game,
        idPrefix: OWNED_ID_PREFIX,
      }),
      idPrefix: OWNED_ID_PREFIX,
      logger: deps.logger,
      timeoutMs: SCHEDULES_APPLY_TIMEOUT_MS,
    });
    const result = await operations.apply();
    const owned = result.created.length + result.updated.length + result.unchanged.length;
    const changes = [
      [result.created.length, 'created'],
      [result.updated.length, 'updated'],
      [result.deleted.length, 'deleted'],
    ]
      .filter(([count]) => count !== 0)
      .map(([count, what]) => `${count} ${what}`);
    return `${owned} owned (apply: ${changes.length > 0 ? changes.join(', ') : 'up to date'}; npm run schedules -- list)`;
  } catch (err) {
    deps.logger.warn({ err }, 'schedules apply failed: the game runs without its schedules');
    return `not applied (${(err as Error).message.split('\n')[0]}); the game runs without them`;
  }
}
