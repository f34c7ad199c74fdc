/**
 * How a command-line tool (`npm run schedules`, `npm run support`) reaches Temporal: one bounded
 * connection attempt, and an error that says what to do when there is no server.
 */
import { Connection } from '@temporalio/client';

/** Long enough for a server across a network, short enough that a wrong address fails soon. */
const CONNECT_TIMEOUT_MS = 5_000;

/** Temporal could not be reached at all. */
export class TemporalUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemporalUnreachableError';
  }
}

export async function connectTool(address: string): Promise<Connection> {
  try {
    return await Connection.connect({ address, connectTimeout: CONNECT_TIMEOUT_MS });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new TemporalUnreachableError(
      `Temporal is unreachable at ${address} (${reason}). Set TEMPORAL_ADDRESS, or run npm start for a local one.`,
    );
  }
}
