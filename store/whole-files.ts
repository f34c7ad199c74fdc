/**
 * Files of the shared directory, written whole: under a name of their own first (processes on
 * other machines share the folder, and two may write the same file), then renamed into place, so
 * that a reader never sees half a file. A name ending in PARTIAL_SUFFIX is a write under way, or
 * one that was interrupted.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

export const PARTIAL_SUFFIX = '.partial';

async function sync(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * `fill` writes the file's content at the path it is given. `durable`: the content, and then its
 * name in the folder, are on disk (fsync) before this returns, for a file that is the only copy
 * of what something else points to.
 */
export async function writeWhole(
  path: string,
  fill: (partial: string) => Promise<void>,
  { durable = false }: { durable?: boolean } = {},
): Promise<void> {
  const partial = `${path}.${randomBytes(6).toString('hex')}${PARTIAL_SUFFIX}`;
  try {
    await fill(partial);
    if (durable) await sync(partial);
    await rename(partial, path);
  } finally {
    await rm(partial, { force: true });
  }
  if (durable) await sync(dirname(path));
}
