/**
 * The farm reports' workers, in the bot process (it holds the token): one on the shared reports
 * queue (reading farms, taking jobs) and one on a task queue of this process's own, where the
 * picture is drawn to this process's disk and published from it (the worker-specific task queue
 * pattern). Its work directory is emptied at start, of its own files and of those of processes
 * of this host that are gone, and swept of files left by failed attempts while it runs; the
 * report store is swept of expired pictures as well.
 */
import { isAlive } from '../infra/pids';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { NativeConnection } from '@temporalio/worker';
import { Api } from 'grammy';
import { createReportActivities } from '../activities/report';
import { chatIdKeyring } from '../infra/identity';
import type { Logger } from '../infra/logging';
import type { ReportFiles } from '../store/report-files';
import type { RedisClient } from '../store/redis';
import { type ReportActivities, TASK_QUEUES } from '../workflows/contract';
import { createWorker, runWorker } from '../worker/create-worker';
import { BOT_API_TIMEOUT_SECONDS } from './bot';
import { installOutgoing } from './outgoing';
import type { ReportLinks } from './reports';

export interface ReportsWorkerDeps {
  connection: NativeConnection;
  client: Client;
  dataConverter: DataConverter;
  namespace: string;
  token: string;
  apiRoot: string;
  redis: RedisClient;
  keyPrefix: string;
  userHashSecret: string;
  files: ReportFiles;
  links: ReportLinks;
  /** Where the player's browser reaches the public HTTP server (the links in captions). */
  publicUrl: string;
  /** Under it, a directory per process for pictures being made. */
  workRoot: string;
  logger: Logger;
  /** Tests: a shared queue of their own. */
  taskQueue?: string;
  /** Tests: activities around the real ones (a process that dies between two of them). */
  wrapActivities?: (activities: ReportActivities) => ReportActivities;
}

export interface ReportsWorker {
  /** This process's own task queue. */
  fileQueue: string;
  stop(): Promise<void>;
}

/** A work file older than this belongs to no attempt any more. */
const STALE_WORK_FILE_MS = 10 * 60 * 1000;
const SWEEP_EVERY_MS = 10 * 60 * 1000;

/** A process's work directory is named after it: `<host>-<pid>-<random>`. */
const HOST = hostname().replace(/[^A-Za-z0-9_-]/g, '_');

/** Deletes the work directories of this host's processes that are gone. */
async function removeLeftovers(workRoot: string): Promise<number> {
  let removed = 0;
  for (const name of await readdir(workRoot).catch(() => [] as string[])) {
    const match = /^(.+)-(\d+)-[0-9a-f]+$/.exec(name);
    // Our own pid too: a restarted container's process often gets the pid its last one had.
    const pid = Number(match?.[2]);
    if (match?.[1] === HOST && (pid === process.pid || !isAlive(pid))) {
      await rm(join(workRoot, name), { recursive: true, force: true });
      removed += 1;
    }
  }
  return removed;
}

async function removeStaleFiles(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => null);
    if (info && Date.now() - info.mtimeMs > STALE_WORK_FILE_MS) await rm(path, { force: true });
  }
}

export async function startReportsWorker(deps: ReportsWorkerDeps): Promise<ReportsWorker> {
  const self = `${HOST}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fileQueue = `${TASK_QUEUES.reports}-${self}`;
  const workDir = join(deps.workRoot, self);
  await mkdir(deps.workRoot, { recursive: true });
  const leftovers = await removeLeftovers(deps.workRoot);
  await mkdir(workDir, { recursive: true });

  const api = new Api(deps.token, {
    apiRoot: deps.apiRoot,
    timeoutSeconds: BOT_API_TIMEOUT_SECONDS,
  });
  installOutgoing(api, { redis: deps.redis, keyPrefix: deps.keyPrefix, logger: deps.logger });
  const made = createReportActivities({
    client: deps.client,
    api,
    chatIdKeys: chatIdKeyring(deps.userHashSecret),
    files: deps.files,
    fileQueue,
    // Only while its own queue's worker runs (below) does this process take a job; otherwise
    // claimFileWorker fails, and another process takes it.
    polling: () => own.worker.getState() === 'RUNNING',
    workDir,
    caption: (reportId, expiresAtMs) => {
      // In HTML, the link's & are &amp;.
      const link = `${deps.publicUrl}${deps.links.path(reportId, expiresAtMs)}`.replaceAll(
        '&',
        '&amp;',
      );
      const hours = Math.max(1, Math.round((expiresAtMs - Date.now()) / 3_600_000));
      return `📊 Your farm report. <a href="${link}">Open it in a browser</a> (kept for ${hours} h).`;
    },
  });
  const activities = deps.wrapActivities?.(made) ?? made;
  const common = {
    connection: deps.connection,
    namespace: deps.namespace,
    dataConverter: deps.dataConverter,
  };
  const own = runWorker(
    await createWorker({
      ...common,
      taskQueue: fileQueue,
      activities: {
        renderReport: activities.renderReport,
        publishReport: activities.publishReport,
      },
    }),
  );
  const shared = runWorker(
    await createWorker({
      ...common,
      taskQueue: deps.taskQueue ?? TASK_QUEUES.reports,
      activities: {
        readFarmForReport: activities.readFarmForReport,
        claimFileWorker: activities.claimFileWorker,
        reportFailed: activities.reportFailed,
      },
    }),
  );
  for (const running of [shared, own]) {
    running.done.catch((err: unknown) => deps.logger.fatal({ err }, 'reports worker failed'));
  }
  const sweep = async () => {
    await removeStaleFiles(workDir);
    const expired = await deps.files.sweep();
    if (expired > 0) deps.logger.info({ expired }, 'expired reports deleted');
  };
  const sweeper = setInterval(() => {
    sweep().catch((err: unknown) => deps.logger.warn({ err }, 'report sweep failed'));
  }, SWEEP_EVERY_MS);
  sweeper.unref();
  await sweep();
  deps.logger.info({ fileQueue, leftovers }, 'making farm reports');
  return {
    fileQueue,
    async stop() {
      clearInterval(sweeper);
      // The shared queue first: no job is claimed for a queue about to lose its poller.
      await shared.stop();
      await own.stop();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}
