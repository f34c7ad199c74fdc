/**
 * The farm report's activities, run by the bot process (bot/reports-worker.ts), which holds the
 * token: reading the farm and claiming the job on the shared reports queue; drawing the picture
 * to this process's disk and publishing it from there on this process's own queue. Files stay
 * on this disk (and in the report store); only their path, size and hash go back to Temporal.
 */
import { createHash, randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Context, log } from '@temporalio/activity';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { type Api, GrammyError, InputFile } from 'grammy';
import { type ChatIdKeyring, decryptChatId, SealedChatIdError } from '../infra/identity';
import type { ReportFiles } from '../store/report-files';
import {
  farmWorkflowId,
  getCoinDaysQuery,
  getFarmQuery,
  type FarmReportData,
  type ReportActivities,
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
  /** This process's directory for pictures being made (bot/reports-worker.ts empties it at start). */
  workDir: string;
  /** The caption under the picture: what it is and the link to it (bot/reports.ts). */
  caption(reportId: string, expiresAtMs: number): string;
}

/** Pinned activities tell Temporal they are alive this often (their heartbeat timeout is 10 s). */
const HEARTBEAT_EVERY_MS = 1_000;

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

/** How long reading the farm may take before the activity is retried. */
const FARM_QUERY_TIMEOUT_MS = 5_000;

/** Telegram's answers for a message that cannot be edited any more (deleted by the player). */
const MESSAGE_GONE = /message to edit not found|message can't be edited|chat not found/i;

export function createReportActivities(deps: ReportActivityDeps): ReportActivities {
  return {
    async readFarmForReport({ userHash }) {
      const farm = deps.client.workflow.getHandle(farmWorkflowId(userHash));
      const bounded = <T>(query: () => Promise<T>) =>
        deps.client.withDeadline(Date.now() + FARM_QUERY_TIMEOUT_MS, query);
      try {
        const [snapshot, coinDays] = await Promise.all([
          bounded(() => farm.query(getFarmQuery)),
          bounded(() => farm.query(getCoinDaysQuery)),
        ]);
        const data: FarmReportData = {
          userHash,
          displayName: snapshot.profile?.displayName ?? null,
          asOfMs: snapshot.asOfMs,
          farm: snapshot.farm,
          coinDays,
        };
        return data;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) {
          throw ApplicationFailure.nonRetryable('no farm runs under this support code', 'NoFarm');
        }
        throw err;
      }
    },

    async claimFileWorker() {
      return deps.fileQueue;
    },

    renderReport: ({ reportId, data }) =>
      heartbeating(async () => {
        const png = await drawFarmReport(data);
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

    publishReport: ({ reportId, userHash, file, telegram }) =>
      heartbeating(async () => {
        const done = async <T>(result: T) => {
          await rm(file.path, { force: true });
          return result;
        };
        try {
          const kept = await deps.files.keep({
            path: file.path,
            reportId,
            userHash,
            bytes: file.bytes,
            width: file.width,
            height: file.height,
            sha256: file.sha256,
          });
          if (!telegram) return done({ expiresAtMs: kept.expiresAtMs, telegram: 'none' as const });
          let chatId: number;
          try {
            chatId = decryptChatId(telegram.sealedChatId, deps.chatIdKeys);
          } catch (err) {
            if (!(err instanceof SealedChatIdError)) throw err;
            throw ApplicationFailure.nonRetryable(
              `cannot open the sealed chat id: ${err.problem}`,
              'NoChat',
            );
          }
          // An edit, not a new message: a retried publish replaces the same message again, so
          // the chat shows one picture however often this runs.
          try {
            await deps.api.editMessageMedia(
              chatId,
              telegram.messageId,
              {
                type: 'photo',
                media: new InputFile(file.path, 'report.png'),
                caption: deps.caption(reportId, kept.expiresAtMs),
                parse_mode: 'HTML',
              },
              undefined,
              Context.current().cancellationSignal as unknown as Parameters<
                Api['editMessageMedia']
              >[4],
            );
          } catch (err) {
            if (
              err instanceof GrammyError &&
              err.error_code === 400 &&
              MESSAGE_GONE.test(err.description)
            ) {
              log.info('report kept; its message is gone from the chat', { reportId });
              return done({ expiresAtMs: kept.expiresAtMs, telegram: 'message gone' as const });
            }
            if (err instanceof GrammyError && (err.error_code === 400 || err.error_code === 403)) {
              throw ApplicationFailure.nonRetryable(
                `Telegram refused the report: ${err.description}`,
                'ReportRefused',
              );
            }
            throw err;
          }
          log.info('report sent', { reportId });
          return done({ expiresAtMs: kept.expiresAtMs, telegram: 'replaced' as const });
        } catch (err) {
          // A retry on this process needs the file; a refusal does not (and a file no retry
          // comes for is deleted by the work directory's sweep).
          if (err instanceof ApplicationFailure && err.nonRetryable)
            await rm(file.path, { force: true });
          throw err;
        }
      }),
  };
}
