/**
 * Large payloads by reference (claim check): a payload above Temporal's warning size (256 KiB) is
 * written to the shared files directory and only a reference to it goes into history. Every
 * other payload stays plain JSON, readable by the Temporal UI, the CLI and a client without this.
 *
 * The files are named by the SHA-256 of the payload, so a payload stored twice (a retried task,
 * a farm carrying the same state on) is one file. They are never deleted by farmflow: an open
 * farm run may need its start input for a replay months later (README: "Large payloads").
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type DataConverter,
  ExternalStorage,
  type StorageDriver,
  StorageDriverClaim,
} from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { writeWhole } from './whole-files';

/** The driver's name as it is written into every reference (never change it). */
export const PAYLOAD_DRIVER_NAME = 'farmflow-shared-files';

/** Temporal warns above this size and refuses payloads above 2 MB; larger go by reference. */
export const PAYLOAD_REFERENCE_THRESHOLD = 256 * 1024;

const PayloadProto = temporal.api.common.v1.Payload;

/** Where the payload files live under the shared files directory. */
export const payloadFilesDir = (sharedDir: string) => join(sharedDir, 'payloads');

export function createPayloadFilesDriver(sharedDir: string): StorageDriver {
  const dir = payloadFilesDir(sharedDir);
  const pathOf = (key: string) => {
    if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`not a payload file key: ${key}`);
    return join(dir, key.slice(0, 2), key);
  };
  return {
    name: PAYLOAD_DRIVER_NAME,
    type: 'farmflow.shared-files',
    async store(_context, payloads) {
      return Promise.all(
        payloads.map(async (payload) => {
          const bytes = PayloadProto.encode(payload).finish();
          const key = createHash('sha256').update(bytes).digest('hex');
          const folder = join(dir, key.slice(0, 2));
          await mkdir(folder, { recursive: true });
          // The only copy of what history will point to: on disk, name and all, before that.
          await writeWhole(join(folder, key), (partial) => writeFile(partial, bytes), {
            durable: true,
          });
          return new StorageDriverClaim({ key });
        }),
      );
    },
    async retrieve(_context, claims) {
      return Promise.all(
        claims.map(async (claim) => {
          const key = claim.claimData.key ?? '';
          const bytes = await readFile(pathOf(key)).catch((err: NodeJS.ErrnoException) => {
            if (err.code === 'ENOENT') {
              throw new Error(
                `payload file ${key} is missing from ${dir}: every process must share SHARED_FILES_DIR`,
              );
            }
            throw err;
          });
          if (createHash('sha256').update(bytes).digest('hex') !== key) {
            throw new Error(`payload file ${key} in ${dir} is damaged (its hash differs)`);
          }
          return PayloadProto.decode(bytes);
        }),
      );
    },
  };
}

/**
 * Every process checks at start that it can write and read the shared files directory: a
 * process that cannot would fail the workflow tasks of every large payload, over and over.
 */
export async function checkSharedFilesDir(sharedDir: string): Promise<void> {
  const probe = join(sharedDir, `.probe-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(sharedDir, { recursive: true });
    await writeFile(probe, 'farmflow');
    if ((await readFile(probe, 'utf8')) !== 'farmflow') throw new Error('it read back otherwise');
  } catch (err) {
    throw new Error(
      `SHARED_FILES_DIR ${sharedDir} cannot be written and read: ${(err as Error).message}. Every bot and worker process needs it (a shared volume in production).`,
      { cause: err },
    );
  } finally {
    await rm(probe, { force: true });
  }
}

/** The data converter of every client and worker: the SDK's default, plus large payloads by reference. */
export function farmflowDataConverter(sharedDir: string): DataConverter {
  return {
    externalStorage: new ExternalStorage({
      drivers: [createPayloadFilesDriver(sharedDir)],
      payloadSizeThreshold: PAYLOAD_REFERENCE_THRESHOLD,
    }),
  };
}
