/**
 * FarmReportWorkflow: a player's farm report, made in the background (bot/reports.ts starts it,
 * one at a time per player). It reads the farm, then runs the pinned block: a bot process takes
 * the job on the shared reports queue and names its own task queue; the picture is drawn to that
 * process's disk and published from there (kept for GET /api/reports/:id, and put in place of
 * the "Preparing your report…" message). The file's bytes never enter history: only its path,
 * size and hash do. If that process is lost between the two (its queue finds no poller within
 * `fileWorkerTimeoutMs`, or its heartbeats stop), the whole block runs again on another. A report
 * that cannot be made says so in place of the spinner.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  log,
  proxyActivities,
  sleep,
} from '@temporalio/workflow';
import {
  type FarmReportInput,
  type FarmReportResult,
  type ReportActivities,
  TASK_QUEUES,
} from './contract';

/** Times the pinned block runs before the report fails. */
const MAX_BLOCK_ATTEMPTS = 4;
const DEFAULT_FILE_WORKER_TIMEOUT_MS = 10_000;

export async function FarmReportWorkflow(input: FarmReportInput): Promise<FarmReportResult> {
  const shared = proxyActivities<ReportActivities>({
    taskQueue: input.reportsTaskQueue ?? TASK_QUEUES.reports,
    startToCloseTimeout: '10s',
    scheduleToCloseTimeout: '2m',
    retry: { initialInterval: '500ms', maximumInterval: '10s' },
  });
  try {
    return await makeReport(input, shared);
  } catch (err) {
    if (input.telegram && !isCancellation(err)) {
      // Best effort and bounded (scheduleToClose): the report's failure is the result either way.
      await shared
        .reportFailed({ reportId: input.reportId, telegram: input.telegram })
        .catch((failure: unknown) =>
          log.warn('the report failed, and so did saying so in the chat', {
            reportId: input.reportId,
            error: String(failure),
          }),
        );
    }
    throw err;
  }
}

async function makeReport(
  input: FarmReportInput,
  shared: ReportActivities,
): Promise<FarmReportResult> {
  const data = await shared.readFarmForReport({ userHash: input.userHash });
  const lostAfterMs = input.fileWorkerTimeoutMs ?? DEFAULT_FILE_WORKER_TIMEOUT_MS;
  for (let attempt = 1; ; attempt += 1) {
    const queue = await shared.claimFileWorker();
    const pinned = proxyActivities<ReportActivities>({
      taskQueue: queue,
      // Nobody polls a lost process's queue, and a process lost mid-activity stops heartbeating:
      // either way the block moves on instead of waiting.
      scheduleToStartTimeout: lostAfterMs,
      heartbeatTimeout: lostAfterMs,
      startToCloseTimeout: '1m',
      // A retry stays on this process: one more try for a passing error, then the block moves.
      retry: { initialInterval: '1s', maximumAttempts: 2 },
    });
    try {
      const file = await pinned.renderReport({ reportId: input.reportId, data });
      const telegram = await pinned.publishReport({
        reportId: input.reportId,
        userHash: input.userHash,
        file,
        expiresAtMs: input.expiresAtMs,
        ...(input.telegram ? { telegram: input.telegram } : {}),
      });
      log.info('report made', { reportId: input.reportId, attempts: attempt, bytes: file.bytes });
      return {
        reportId: input.reportId,
        bytes: file.bytes,
        width: file.width,
        height: file.height,
        sha256: file.sha256,
        expiresAtMs: input.expiresAtMs,
        telegram,
        attempts: attempt,
      };
    } catch (err) {
      const refused =
        err instanceof ActivityFailure &&
        err.cause instanceof ApplicationFailure &&
        err.cause.nonRetryable;
      if (isCancellation(err) || refused || attempt >= MAX_BLOCK_ATTEMPTS) throw err;
      log.warn('the report block failed on its process; running it again on another', {
        reportId: input.reportId,
        queue,
        attempt,
        error: err instanceof ActivityFailure ? (err.cause?.message ?? err.message) : String(err),
      });
      await sleep(attempt * 1_000);
    }
  }
}
