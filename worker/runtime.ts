/**
 * How farmflow's code runs on Temporal, process-wide: the Runtime (the SDK's and the Rust core's
 * log lines go to pino) and the activity interceptor that gives every activity line the ids
 * support searches by. Its workflow-side twin is `workflow-interceptors.ts` beside it.
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
  MetricsBuffer,
  Runtime,
  makeTelemetryFilterString,
} from '@temporalio/worker';
import type { Logger } from '../infra/logging';
import { TEMPORAL_METRICS_BUFFER_SIZE, collectTemporalMetrics } from '../infra/metrics';
import { USER_HASH_HEADER } from '../workflows/contract';

const PINO_LEVEL: Record<TemporalLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * The SDK warns of every activity-only worker (notifications, reports) that it polls no workflow
 * tasks: true by design here, so it is not a warning.
 */
const EXPECTED_WARNINGS = new Set(['No workflows registered, not polling for workflow tasks']);

/** The core's line for each metric update it drops while its buffer is full (one per update). */
const METRICS_DROPPED = "Core's metrics buffer is full!";

/** How often, at most, dropped metric updates are reported, with how many since the last line. */
const METRICS_DROPPED_REPORT_MS = 60_000;

/** Temporal's Logger interface on top of pino; workflow/activity attributes arrive as `meta`. */
export class PinoTemporalLogger implements TemporalLogger {
  private metricsDropped = 0;
  private metricsDroppedReportedAt = -Infinity;

  constructor(private readonly logger: Logger) {}

  log(level: TemporalLevel, message: string, meta?: LogMetadata): void {
    const { timestampNanos: _ts, ...rest } = (meta ?? {}) as LogMetadata & {
      timestampNanos?: bigint;
    };
    if (message.startsWith(METRICS_DROPPED)) {
      this.metricsDropped += 1;
      if (Date.now() - this.metricsDroppedReportedAt < METRICS_DROPPED_REPORT_MS) return;
      this.metricsDroppedReportedAt = Date.now();
      rest.droppedUpdates = this.metricsDropped;
      this.metricsDropped = 0;
    }
    const pinoLevel =
      level === 'WARN' && EXPECTED_WARNINGS.has(message) ? 'debug' : PINO_LEVEL[level];
    this.logger[pinoLevel](rest, message);
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
 * Sends the SDK's and the Rust core's log lines to pino, and its metrics (workers, and the
 * client calls of NativeConnection) to the process's registry (infra/metrics.ts), under the SDK's
 * own `temporal_` names. The Runtime is process-wide and can be installed once, so only entry
 * points (and test setup) call this.
 */
export function installTemporalRuntime(
  logger: Logger,
  metricsBufferSize = TEMPORAL_METRICS_BUFFER_SIZE,
): void {
  const buffer = new MetricsBuffer({ maxBufferSize: metricsBufferSize });
  Runtime.install({
    logger: new PinoTemporalLogger(logger.child({ component: 'temporal' })),
    telemetryOptions: {
      logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN' }) },
      metrics: { buffer },
    },
    // Entry points own shutdown order (HTTP server first, then workers, then connections).
    shutdownSignals: [],
  });
  collectTemporalMetrics(buffer, logger);
}

/**
 * Activity log lines get `runId` (the SDK names it `workflowRunId`) and the player's `userHash`,
 * which the workflow interceptor puts in a header of every activity it schedules, and lose the
 * SDK's `taskToken`.
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
        // The task token completes the activity from outside the worker: not for log readers.
        const { taskToken: _taskToken, ...attributes } = next({
          ...input,
          runId: ctx.info.workflowExecution?.runId,
          ...(userHash ? { userHash } : {}),
        });
        return attributes;
      },
    },
  };
};
