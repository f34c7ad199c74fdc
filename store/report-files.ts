/**
 * Finished report pictures in the shared files directory, kept until the time their report was
 * given (REPORT_KEEP_HOURS from the request) for GET /api/reports/:id: `reports/<id>.png` and its
 * record `reports/<id>.json`. Survives a Redis loss and outlives the namespace's retention;
 * `sweep` deletes expired reports and what an interrupted copy left behind.
 */
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PARTIAL_SUFFIX, writeWhole } from './whole-files';

export interface StoredReport {
  reportId: string;
  userHash: string;
  bytes: number;
  width: number;
  height: number;
  sha256: string;
  keptAtMs: number;
  expiresAtMs: number;
}

export interface ReportFiles {
  /** Copies the picture in (replacing an earlier copy of the same report); returns its record. */
  keep(file: { path: string } & Omit<StoredReport, 'keptAtMs'>): Promise<StoredReport>;
  /** The record, or null when there is none or it has expired. */
  find(reportId: string): Promise<StoredReport | null>;
  /** The picture's bytes, or null when there is none or it has expired. */
  picture(reportId: string): Promise<Buffer | null>;
  /** Deletes expired reports, and leftovers older than a copy can take; returns how many files. */
  sweep(): Promise<number>;
}

/** Report ids are checked by the caller (bot/reports.ts); this only refuses path tricks. */
const SAFE_ID = /^[a-z0-9-]{1,64}$/;
/** A copy that has not become its file in this long was interrupted. */
const LEFTOVER_AFTER_MS = 10 * 60 * 1000;

export function createReportFiles(sharedDir: string): ReportFiles {
  const dir = join(sharedDir, 'reports');
  const pathOf = (reportId: string, ext: 'png' | 'json') => {
    if (!SAFE_ID.test(reportId)) throw new Error(`not a report id: ${reportId}`);
    return join(dir, `${reportId}.${ext}`);
  };
  const remove = (reportId: string) =>
    Promise.all([
      rm(pathOf(reportId, 'json'), { force: true }),
      rm(pathOf(reportId, 'png'), { force: true }),
    ]);
  const find = async (reportId: string): Promise<StoredReport | null> => {
    let record: StoredReport;
    try {
      record = JSON.parse(await readFile(pathOf(reportId, 'json'), 'utf8')) as StoredReport;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    if (record.expiresAtMs > Date.now()) return record;
    await remove(reportId);
    return null;
  };
  return {
    async keep({ path, ...report }) {
      await mkdir(dir, { recursive: true });
      const record: StoredReport = { ...report, keptAtMs: Date.now() };
      // The picture first: a record is never there without its picture.
      await writeWhole(pathOf(report.reportId, 'png'), (partial) => copyFile(path, partial));
      await writeWhole(pathOf(report.reportId, 'json'), (partial) =>
        writeFile(partial, JSON.stringify(record)),
      );
      return record;
    },
    find,
    async picture(reportId) {
      if (!(await find(reportId))) return null;
      return readFile(pathOf(reportId, 'png')).catch(() => null);
    },
    async sweep() {
      const names = await readdir(dir).catch(() => [] as string[]);
      let removed = 0;
      for (const name of names) {
        const path = join(dir, name);
        const [id, ext] = name.split('.');
        const expired = ext === 'json' && SAFE_ID.test(id!) && (await find(id!)) === null;
        // A picture whose record never came, or a copy that never finished.
        const left =
          (ext === 'png' && !names.includes(`${id}.json`)) || name.endsWith(PARTIAL_SUFFIX);
        if (expired) removed += 2;
        else if (left) {
          const info = await stat(path).catch(() => null);
          if (info && Date.now() - info.mtimeMs > LEFTOVER_AFTER_MS) {
            await rm(path, { force: true });
            removed += 1;
          }
        }
      }
      return removed;
    },
  };
}
