/**
 * The farm report's activities, run by the bot process (bot/reports-worker.ts), which holds the
 * token: reading the farm, claiming the job and telling a failure on the shared reports queue;
 * drawing the picture to this process's disk and publishing it from there on this process's own
 * queue. Files stay on this disk (and in the report store); only their path, size and hash go
 * back to Temporal.
 */
import { createHash, randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Context, log } from '@temporalio/activity';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { type Api, GrammyError, InputFile } from 'grammy';
import pLimit from 'p-limit';
import { type ChatIdKeyring, decryptChatId, SealedChatIdError } from '../infra/identity';
import type { ReportFiles } from '../store/report-files';
import {
  farmWorkflowId,
  getCoinDaysQuery,
  getFarmQuery,
  type ReportActivities,
  type ReportDelivery,
  type ReportMessage,
} from '../workflows/contract';
import { drawFarmReport, REPORT_PICTURE } from './report-picture';

export interface ReportActivityDeps {
  client: Client;
  /** A Bot API client paced like the replies (bot/outgoing.ts). */
  api: Api;
  chatIdKeys: ChatIdKeyring;
  files: ReportFiles;
  /** This process's own task queue: where the pinned block runs. */
  fileQueue: string;
  /** Whether this process polls its own queue: a process that does not takes no job. */
  polling(): boolean;
  /** This process's directory for pictures being made (bot/reports-worker.ts empties it at start). */
  workDir: string;
  /** The caption under the picture: what it is and the link to it (bot/reports-worker.ts). */
  caption(reportId: string, expiresAtMs: number): string;
}

export const REPORT_FAILED_TEXT =
  "📊 Your report couldn't be made this time. Please press 📊 Report again later.";

/** Pinned activities tell Temporal they are alive this often (see the workflow's heartbeat timeout). */
const HEARTBEAT_EVERY_MS = 1_000;
/** Pictures drawn at once by one process: drawing is CPU; more would only queue on the cores. */
const DRAWING_AT_ONCE = 2;
/** How long reading the farm may take before the activity is retried. */
const READ_FARM_TIMEOUT_MS = 5_000;

/** Telegram's answers for a message that cannot be edited any more (deleted by the player). */
const MESSAGE_GONE = /message to edit not found|message can't be edited|chat not found/i;

/** Runs `work` while heartbeating: a process that dies mid-activity is noticed within the timeout. */
async function heartbeating<T>(work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  context.heartbeat();
  const beat = setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}

function openChat(telegram: ReportMessage, keys: ChatIdKeyring): number {
  try {
    return decryptChatId(telegram.sealedChatId, keys);
  } catch (err) {
    if (!(err instanceof SealedChatIdError)) throw err;
    throw ApplicationFailure.nonRetryable(
      `cannot open the sealed chat id: ${err.problem}`,
      'NoChat',
    );
  }
}

/** grammY types its signal with a polyfill's AbortSignal; Node's is the one it gets. */
const cancellation = () =>
  Context.current().cancellationSignal as unknown as Parameters<Api['editMessageText']>[4];

export function createReportActivities(deps: ReportActivityDeps): ReportActivities {
  const drawing = pLimit(DRAWING_AT_ONCE);
  return {
    async readFarmForReport({ userHash }) {
      const farm = deps.client.workflow.getHandle(farmWorkflowId(userHash));
      const bounded = <T>(query: () => Promise<T>) =>
        deps.client.withDeadline(Date.now() + READ_FARM_TIMEOUT_MS, query);
      try {
        const [snapshot, coinDays] = await Promise.all([
          bounded(() => farm.query(getFarmQuery)),
          bounded(() => farm.query(getCoinDaysQuery)),
        ]);
        return {
          userHash,
          displayName: snapshot.profile?.displayName ?? null,
          asOfMs: snapshot.asOfMs,
          farm: snapshot.farm,
          coinDays,
        };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) {
          throw ApplicationFailure.nonRetryable('no farm runs under this support code', 'NoFarm');
        }
        throw err;
      }
    },

    async claimFileWorker() {
      // Retried: another process takes the job (this one's own queue has no poller).
      if (!deps.polling()) throw new Error('this process does not poll its file queue');
      return deps.fileQueue;
    },

    async reportFailed({ reportId, telegram }) {
      try {
        await deps.api.editMessageText(
          openChat(telegram, deps.chatIdKeys),
          telegram.messageId,
          REPORT_FAILED_TEXT,
          undefined,
          cancellation(),
        );
      } catch (err) {
        // Nothing left to tell: the message or the chat is gone, or it says so already.
        if (err instanceof GrammyError && (err.error_code === 400 || err.error_code === 403)) {
          log.info('report failure not shown', { reportId, reason: err.description });
          return;
        }
        throw err;
      }
    },

    renderReport: ({ reportId, data }) =>
      heartbeating(async () => {
        const png = await drawing(() =>
          drawFarmReport(data).catch((err: unknown) => {
            // The same farm draws the same way: another try would fail the same.
            throw ApplicationFailure.nonRetryable(
              `the report could not be drawn: ${String(err)}`,
              'DrawingFailed',
            );
          }),
        );
        const path = join(deps.workDir, `${reportId}-${randomBytes(4).toString('hex')}.png`);
        await writeFile(path, png);
        log.info('report drawn', { reportId, bytes: png.length });
        return {
          path,
          bytes: png.length,
          width: REPORT_PICTURE.width,
          height: REPORT_PICTURE.height,
          sha256: createHash('sha256').update(png).digest('hex'),
        };
      }),

    publishReport: ({ reportId, userHash, file, expiresAtMs, telegram }) =>
      heartbeating(async () => {
        const { path, ...picture } = file;
        try {
          await deps.files.keep({ path, reportId, userHash, expiresAtMs, ...picture });
          const delivery = telegram
            ? await replaceMessage(reportId, path, telegram, expiresAtMs)
            : 'none';
          // Kept in the store: this process's copy is done with.
          await rm(path, { force: true });
          return delivery;
        } catch (err) {
          // A retry on this process needs the file; a refusal does not (and a file no retry
          // comes for is deleted by the work directory's sweep).
          if (err instanceof ApplicationFailure && err.nonRetryable)
            await rm(path, { force: true });
          throw err;
        }
      }),
  };

  /**
   * An edit, not a new message: a retried publish replaces the same message again, so the chat
   * shows one picture however often this runs.
   */
  async function replaceMessage(
    reportId: string,
    path: string,
    telegram: ReportMessage,
    expiresAtMs: number,
  ): Promise<ReportDelivery> {
    try {
      await deps.api.editMessageMedia(
        openChat(telegram, deps.chatIdKeys),
        telegram.messageId,
        {
          type: 'photo',
          media: new InputFile(path, 'report.png'),
          caption: deps.caption(reportId, expiresAtMs),
          parse_mode: 'HTML',
        },
        undefined,
        cancellation(),
      );
    } catch (err) {
      if (!(err instanceof GrammyError)) throw err; // 429 after the retries, 5xx, no answer
      if (err.error_code === 400 && /message is not modified/i.test(err.description)) {
        return 'replaced'; // an earlier attempt's edit landed
      }
      if (err.error_code === 400 && MESSAGE_GONE.test(err.description)) {
        log.info('report kept; its message is gone from the chat', { reportId });
        return 'message gone';
      }
      if (err.error_code === 403) {
        log.info('report kept; the player blocked the bot', { reportId });
        return 'blocked';
      }
      throw ApplicationFailure.nonRetryable(
        `Telegram refused the report: ${err.description}`,
        'ReportRefused',
      );
    }
    log.info('report sent', { reportId });
    return 'replaced';
  }
}
