/** Whether a process still runs, for pid files and work folders named after processes. */
import { readFileSync } from 'node:fs';

/**
 * True while a process with this pid exists, ours or another user's (EPERM); never for 0 or a
 * negative number, which would name a process group.
 */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** The pid a pid file names, if that process still runs; undefined for no file or a dead pid. */
export function livePidIn(file: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8').trim());
  } catch {
    return undefined;
  }
  return isAlive(pid) ? pid : undefined;
}
