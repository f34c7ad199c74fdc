/**
 * Farm reports from the bot's side: starting one (a second request while one runs gets the
 * running one), its status and picture for GET /api/reports/:id, and the signed links the bot
 * gives the player. A report's id is the player's support code, a dash and 26 random characters
 * (130 bits): unguessable, and it names the player whose report it is.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Client, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { isUserHash } from '../infra/identity';
import type { ReportFiles, StoredReport } from '../store/report-files';
import { currentDeadline } from './update-deadline';
import {
  type FarmReportInput,
  farmReportWorkflowId,
  farmWorkflowId,
  REPORT_MEMO,
  type ReportMemo,
  type ReportMessage,
  USER_HASH_SEARCH_ATTRIBUTE,
  WORKFLOW_TYPES,
} from '../workflows/contract';

export const REPORT_ID_PATTERN = /^([a-z2-7]{16})-[a-z2-7]{26}$/;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

export function newReportId(userHash: string): string {
  const random = [...randomBytes(26)].map((b) => BASE32[b & 31]).join('');
  return `${userHash}-${random}`;
}

/** The support code a report id names, or null when it is not a report id. */
export function reportOwner(reportId: string): string | null {
  return REPORT_ID_PATTERN.exec(reportId)?.[1] ?? null;
}

/** Links to a report: signed with a key derived from USER_HASH_SECRET, valid until it expires. */
export interface ReportLinks {
  /** The path and query of the picture's link. */
  path(reportId: string, expiresAtMs: number): string;
  /** Whether a link's signature is right and it has not expired. */
  verify(reportId: string, expires: string | undefined, signature: string | undefined): boolean;
}

export function createReportLinks(userHashSecret: string): ReportLinks {
  const key = createHmac('sha256', userHashSecret).update('farmflow report links').digest();
  const sign = (reportId: string, expiresAtMs: number) =>
    createHmac('sha256', key).update(`${reportId}:${expiresAtMs}`).digest('base64url');
  return {
    path: (reportId, expiresAtMs) =>
      `/api/reports/${reportId}?format=png&expires=${expiresAtMs}&sig=${sign(reportId, expiresAtMs)}`,
    verify(reportId, expires, signature) {
      if (!expires || !signature || !/^\d{1,15}$/.test(expires)) return false;
      const expiresAtMs = Number(expires);
      if (expiresAtMs <= Date.now()) return false;
      const wanted = Buffer.from(sign(reportId, expiresAtMs));
      const given = Buffer.from(signature);
      return given.length === wanted.length && timingSafeEqual(given, wanted);
    },
  };
}

export class NoFarmError extends Error {
  override name = 'NoFarmError';
  constructor() {
    super('no farm runs under this support code');
  }
}

export interface ReportsDeps {
  client: Client;
  files: ReportFiles;
  /** Where FarmReportWorkflow runs (the game queue). */
  gameTaskQueue: string;
  /** How long a finished picture is kept (REPORT_KEEP_HOURS), counted from the request. */
  keepMs: number;
  /** Tests: a shorter wait for a lost file worker, the reports queue. */
  workflowOptions?: Pick<FarmReportInput, 'fileWorkerTimeoutMs' | 'reportsTaskQueue'>;
}

export type ReportStatus =
  | { status: 'running'; reportId: string }
  | { status: 'done'; reportId: string; report: StoredReport }
  | { status: 'failed'; reportId: string; reason: string }
  | { status: 'unknown'; reportId: string };

/** The report a request got: the one it started, or the one already running for the player. */
export interface StartedReport extends ReportMemo {
  /** This request's report (`reportId` was given and is the running one), or another's. */
  ours: boolean;
}

export interface Reports {
  /**
   * Starts the player's report under `reportId` (default: a new one), or finds the one running.
   * Its picture replaces the `telegram` message when given.
   */
  start(
    userHash: string,
    options?: { telegram?: ReportMessage; reportId?: string },
  ): Promise<StartedReport>;
  status(reportId: string): Promise<ReportStatus>;
  /** A finished report's picture, while it is kept. */
  picture(reportId: string): Promise<Buffer | null>;
}

/** How long one call to Temporal may take (and never past the update's deadline). */
const CALL_TIMEOUT_MS = 5_000;

export function createReports(deps: ReportsDeps): Reports {
  const { client } = deps;
  const bounded = <T>(call: () => Promise<T>) =>
    client.withDeadline(
      Math.min(Date.now() + CALL_TIMEOUT_MS, currentDeadline()?.at ?? Number.POSITIVE_INFINITY),
      call,
    );
  const describe = async (workflowId: string, runId?: string) => {
    const description = await bounded(() =>
      client.workflow.getHandle(workflowId, runId).describe(),
    );
    return { description, memo: description.memo?.[REPORT_MEMO] as ReportMemo | undefined };
  };

  return {
    async start(userHash, { telegram, reportId = newReportId(userHash) } = {}) {
      if (!isUserHash(userHash) || reportOwner(reportId) !== userHash) {
        throw new Error('not a support code, or not a report id of it');
      }
      try {
        await bounded(() => client.workflow.getHandle(farmWorkflowId(userHash)).describe());
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new NoFarmError();
        throw err;
      }
      const workflowId = farmReportWorkflowId(userHash);
      const memo: ReportMemo = {
        reportId,
        expiresAtMs: Date.now() + deps.keepMs,
        toChat: telegram !== undefined,
      };
      const input: FarmReportInput = {
        userHash,
        reportId,
        expiresAtMs: memo.expiresAtMs,
        ...(telegram ? { telegram } : {}),
        ...deps.workflowOptions,
      };
      const handle = await bounded(() =>
        client.workflow.start(WORKFLOW_TYPES.farmReport, {
          workflowId,
          taskQueue: deps.gameTaskQueue,
          args: [input],
          memo: { [REPORT_MEMO]: memo },
          typedSearchAttributes: [{ key: USER_HASH_SEARCH_ATTRIBUTE, value: userHash }],
          // One at a time: a request while one runs gets that one.
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        }),
      );
      const running = (await describe(workflowId, handle.firstExecutionRunId)).memo ?? memo;
      return { ...running, ours: running.reportId === reportId };
    },

    async status(reportId) {
      const userHash = reportOwner(reportId);
      if (!userHash) return { status: 'unknown', reportId };
      const kept = await deps.files.find(reportId);
      if (kept) return { status: 'done', reportId, report: kept };
      // Not kept (yet, or any more): the player's latest report run says which.
      let found;
      try {
        found = await describe(farmReportWorkflowId(userHash));
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { status: 'unknown', reportId };
        throw err;
      }
      if (found.memo?.reportId !== reportId) return { status: 'unknown', reportId };
      const status = found.description.status.name;
      if (status === 'RUNNING') return { status: 'running', reportId };
      // It may have finished since the store was read.
      const keptSince = await deps.files.find(reportId);
      if (keptSince) return { status: 'done', reportId, report: keptSince };
      // Made, and its picture has expired since.
      if (status === 'COMPLETED') return { status: 'unknown', reportId };
      const { workflowId, runId } = found.description;
      const reason = await bounded(() =>
        client.workflow.getHandle(workflowId, runId).result(),
      ).then(
        () => 'it ended without a picture',
        (err: unknown) => {
          if (!(err instanceof WorkflowFailedError)) return String(err);
          const cause = err.cause as (Error & { cause?: Error }) | undefined;
          return cause?.cause?.message ?? cause?.message ?? err.message;
        },
      );
      return { status: 'failed', reportId, reason };
    },

    picture: (reportId) => deps.files.picture(reportId),
  };
}
