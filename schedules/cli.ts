/**
 * `npm run schedules -- <command>`: the game designers' and operators' tool for farmflow's
 * schedules (commands in schedules/commands.ts). It talks to Temporal only: TEMPORAL_ADDRESS and
 * TEMPORAL_NAMESPACE, or `npm start`'s local dev server when the address is unset.
 */
import { Client, type Connection } from '@temporalio/client';
import pino from 'pino';
import { ENTRY_POINTS, loadConfig } from '../infra/config';
import { createLogger } from '../infra/logging';
import { connectTool } from '../infra/temporal-tool';
import { farmflowDataConverter } from '../store/payload-files';
import { connectRedis, type RedisClient } from '../store/redis';
import { createWorldStore } from '../store/world';
import { startRedisBackfill } from '../activities/redis-backfill';
import { createPlayerRegistry } from '../store/players';
import { type CalendarEventInput, TASK_QUEUES, WORKFLOW_TYPES } from '../workflows/contract';
import { createBatchOperations, readProgress } from './batches';
import { OWNED_ID_PREFIX, scheduleDefinitions } from './catalog';
import { runSchedulesCli } from './commands';
import { validateDefinitions } from './definition';
import { createScheduleOperations } from './engine';

/** A progress query waits this long at most (no worker may be running the backfill yet). */
const PROGRESS_QUERY_DEADLINE_MS = 3_000;
/** A stray handle must not keep a finished command alive. */
const EXIT_GRACE_MS = 5_000;

async function main() {
  const config = loadConfig(ENTRY_POINTS.schedules);
  // stdout is the command's output: every log line goes to stderr.
  const logger = createLogger(config.logLevel, pino.destination({ fd: 2, sync: true })).child({
    process: 'schedules',
  });
  const address = config.temporal.address ?? `127.0.0.1:${config.temporal.devPort}`;
  const { namespace } = config.temporal;
  const definitions = scheduleDefinitions({
    timeScale: config.gameTimeScale,
    taskQueue: TASK_QUEUES.game,
    idPrefix: OWNED_ID_PREFIX,
  });
  let connection: Connection | undefined;
  let redis: RedisClient | undefined;
  const client = async () => {
    connection ??= await connectTool(address);
    return new Client({
      connection,
      namespace,
      dataConverter: farmflowDataConverter(config.sharedFilesDir),
    });
  };

  const status = await runSchedulesCli(process.argv.slice(2), {
    async operations() {
      validateDefinitions(definitions, OWNED_ID_PREFIX);
      return createScheduleOperations({
        client: await client(),
        definitions,
        idPrefix: OWNED_ID_PREFIX,
        logger,
      });
    },
    async world() {
      const redis = await connectRedis(config.redis.url, logger);
      try {
        return await createWorldStore(redis, config.redis.keyPrefix).read();
      } finally {
        await redis.close();
      }
    },
    async batches() {
      return createBatchOperations({
        client: await client(),
        gameTaskQueue: TASK_QUEUES.game,
        // A dry run's count only.
        async redis() {
          redis ??= await connectRedis(config.redis.url, logger);
          return { redis, keyPrefix: config.redis.keyPrefix };
        },
      });
    },
    async announcements() {
      redis ??= await connectRedis(config.redis.url, logger);
      return {
        players: await createPlayerRegistry(redis, config.redis.keyPrefix).count(),
        perSecond: config.notificationsPerSecond,
        events: definitions.flatMap((definition) =>
          definition.workflow.type === WORKFLOW_TYPES.calendarEvent
            ? [
                {
                  scheduleId: definition.id,
                  durationMs: calendarEventDurationMs(definition.workflow),
                },
              ]
            : [],
        ),
      };
    },
    ...(process.stdout.isTTY ? { progressBarStream: process.stdout } : {}),
    async redisBackfill() {
      const handle = await startRedisBackfill(await client(), {
        keyPrefix: config.redis.keyPrefix,
        gameTaskQueue: TASK_QUEUES.game,
      });
      return {
        workflowId: handle.workflowId,
        // A query nobody answers in time: no game worker has run it yet (or none runs).
        progress: () =>
          handle.client
            .withDeadline(Date.now() + PROGRESS_QUERY_DEADLINE_MS, () => readProgress(handle))
            .catch(() => null),
      };
    },
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    logger,
    target: `Temporal at ${address}, namespace ${namespace}, game time scale ${config.gameTimeScale}`,
  });
  await connection?.close();
  await redis?.close();
  process.exitCode = status;
  setTimeout(() => process.exit(status), EXIT_GRACE_MS).unref();
}

function calendarEventDurationMs(definition: { args: unknown[] }): number {
  return (definition.args[0] as CalendarEventInput).durationMs;
}

void main();
