/**
 * For schedule tests on the run's shared dev server: an owner prefix of the file's own (never
 * under the production "farmflow-", so an apply of the production catalog elsewhere in the run
 * cannot take its schedules), and a cleanup that deletes every schedule under it, owned or not.
 */
import { randomUUID } from 'node:crypto';
import { type Client, ScheduleNotFoundError } from '@temporalio/client';

export function testIdPrefix(): string {
  return `schedtest-${randomUUID().slice(0, 8)}-`;
}

/** Deletes the schedules under the prefix that Temporal lists, and the ids named. */
export async function deleteSchedules(client: Client, prefix: string, ids: Iterable<string> = []) {
  const all = new Set(ids);
  for await (const schedule of client.schedule.list())
    if (schedule.scheduleId.startsWith(prefix)) all.add(schedule.scheduleId);
  for (const id of all) {
    try {
      await client.schedule.getHandle(id).delete();
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
}

/** Polls until `check` returns a value (not undefined), at most `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
