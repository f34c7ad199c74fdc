/**
 * pino everywhere: the process logger, the Temporal Runtime logger (worker, workflow and activity
 * lines), and the attributes that make every workflow or activity line findable by support.
 */
import { Context as ActivityContext } from '@temporalio/activity';
import {
  defaultPayloadConverter,
  type LogLevel as TemporalLevel,
  type LogMetadata,
  type Logger as TemporalLogger,
} from '@temporalio/common';
import {
  type ActivityInterceptorsFactory,
  Runtime,
  makeTelemetryFilterString,
} from '@temporalio/worker';
import pino, { type DestinationStream, type Logger } from 'pino';
import { USER_HASH_HEADER } from '../common/temporal';
import type { LogLevel } from '../config';

export type { Logger } from 'pino';

/** Paths that could carry secrets or raw Telegram ids; pino replaces them before writing. */
const REDACT = [
  'token',
  '*.token',
  'secret',
  '*.secret',
  'headers["x-telegram-bot-api-secret-token"]',
  'req.headers["x-telegram-bot-api-secret-token"]',
  'chatId',
  '*.chatId',
  'telegramUserId',
  '*.telegramUserId',
];

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'farmflow' },
      redact: { paths: REDACT, censor: '[redacted]' },
      // The SDK passes failures as `error`; serialize them like `err` (message, stack, cause).
      serializers: { err: serializeError, error: serializeError },
    },
    destination,
  );
}

/**
 * Error properties that carry a whole Telegram exchange: grammY's BotError keeps the update's
 * context (the bot token, user and chat ids, the message text) and GrammyError the call's
 * payload (chat_id, text). Redaction paths cannot reach them at every depth, so they are dropped
 * from the error, its causes and the errors in its properties (not from AggregateError's list).
 */
const ERROR_FIELDS_DROPPED = ['ctx', 'payload'];

function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const serialized: Record<string, unknown> = pino.stdSerializers.err(err);
  dropFields(err, serialized, new WeakSet());
  return serialized;
}

/**
 * Drops the fields from a serialized error and from the errors nested in it (cause, BotError's
 * error), which the serializer made afresh; other nested objects are the caller's, left as they are.
 */
function dropFields(original: Error, serialized: Record<string, unknown>, seen: WeakSet<Error>) {
  if (seen.has(original)) return;
  seen.add(original);
  for (const field of ERROR_FIELDS_DROPPED) delete serialized[field];
  const source = original as unknown as Record<string, unknown>;
  for (const key of new Set([...Object.keys(source), 'cause'])) {
    const nested = source[key];
    const copy = serialized[key];
    if (nested instanceof Error && typeof copy === 'object' && copy !== null && copy !== nested)
      dropFields(nested, copy as Record<string, unknown>, seen);
  }
}

const PINO_LEVEL: Record<TemporalLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** Temporal's Logger interface on top of pino; workflow/activity attributes arrive as `meta`. */
export class PinoTemporalLogger implements TemporalLogger {
  constructor(private readonly logger: Logger) {}

  log(level: TemporalLevel, message: string, meta?: LogMetadata): void {
    const { timestampNanos: _ts, ...rest } = (meta ?? {}) as LogMetadata & {
      timestampNanos?: bigint;
    };
    this.logger[PINO_LEVEL[level]](rest, message);
  }
  trace(message: string, meta?: LogMetadata) {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata) {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata) {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata) {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata) {
    this.log('ERROR', message, meta);
  }
}

/**
 * Sends the SDK's and the Rust core's log lines to pino. The Runtime is process-wide and can be
 * installed once, so only entry points (and test setup) call this.
 */
export function installTemporalRuntime(logger: Logger): void {
  Runtime.install({
    logger: new PinoTemporalLogger(logger.child({ component: 'temporal' })),
    telemetryOptions: {
      logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN' }) },
    },
    // Entry points own shutdown order (HTTP server first, then workers, then connections).
    shutdownSignals: [],
  });
}

/**
 * Activity log lines get `runId` (the SDK names it `workflowRunId`) and the player's `userHash`,
 * which the workflow interceptor puts in a header of every activity it schedules.
 */
export const activityLogInterceptors: ActivityInterceptorsFactory = (ctx: ActivityContext) => {
  let userHash: string | undefined;
  return {
    inbound: {
      async execute(input, next) {
        const header = input.headers[USER_HASH_HEADER];
        if (header) userHash = defaultPayloadConverter.fromPayload<string>(header);
        return next(input);
      },
    },
    outbound: {
      getLogAttributes(input, next) {
        return next({
          ...input,
          runId: ctx.info.workflowExecution?.runId,
          ...(userHash ? { userHash } : {}),
        });
      },
    },
  };
};
