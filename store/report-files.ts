/**
 * Finished report pictures in the shared files directory, kept for a configured time (default
 * 24 h) for GET /api/reports/:id: `reports/<id>.png` and its `reports/<id>.json`. Survives a
 * Redis loss and outlives the namespace's retention; expired ones are deleted by `sweep`.
 */
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

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
  keep(
    file: { path: string } & Omit<StoredReport, 'keptAtMs' | 'expiresAtMs'>,
  ): Promise<StoredReport>;
  /** The record, or null when there is none or it has expired. */
  find(reportId: string): Promise<StoredReport | null>;
  /** The picture's bytes, or null when there is none or it has expired. */
  picture(reportId: string): Promise<Buffer | null>;
  /** Deletes expired reports; returns how many. */
  sweep(): Promise<number>;
}

/** Report ids are checked by the caller (bot/reports.ts); this only refuses path tricks. */
const SAFE_ID = /^[a-z0-9-]{1,64}$/;

export function createReportFiles(sharedDir: string, keepMs: number): ReportFiles {
  const dir = join(sharedDir, 'reports');
  const pathOf = (reportId: string, ext: 'png' | 'json') => {
    if (!SAFE_ID.test(reportId)) throw new Error(`not a report id: ${reportId}`);
    return join(dir, `${reportId}.${ext}`);
  };
  const writeWhole = async (path: string, write: (partial: string) => Promise<void>) => {
    const partial = `${path}.${process.pid}.partial`;
    await write(partial);
    await rename(partial, path);
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
      const keptAtMs = Date.now();
      const record: StoredReport = { ...report, keptAtMs, expiresAtMs: keptAtMs + keepMs };
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
        const id = name.endsWith('.json') ? name.slice(0, -'.json'.length) : null;
        if (id && SAFE_ID.test(id) && (await find(id)) === null) removed += 1;
      }
      return removed;
    },
  };
}
