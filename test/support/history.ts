/** Every payload of a workflow run's history, as the server keeps it, with its event's type. */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

export const { EventType } = temporal.api.enums.v1;
export type EventType = temporal.api.enums.v1.EventType;

export interface HistoryPayload {
  event: EventType;
  /** Metadata values as text: `encoding`, `messageType`, … */
  metadata: Record<string, string>;
  data: Buffer;
}

export async function historyPayloads(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<HistoryPayload[]> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const found: HistoryPayload[] = [];
  for (const event of history.events ?? []) {
    const walk = (value: unknown): void => {
      if (value instanceof Uint8Array || value === null || typeof value !== 'object') return;
      const record = value as Record<string, unknown>;
      if (record.metadata && record.data instanceof Uint8Array) {
        const metadata = Object.fromEntries(
          Object.entries(record.metadata as Record<string, Uint8Array>).map(([key, bytes]) => [
            key,
            Buffer.from(bytes).toString(),
          ]),
        );
        found.push({ event: event.eventType!, metadata, data: Buffer.from(record.data) });
      }
      for (const child of Object.values(record)) walk(child);
    };
    walk(event);
  }
  return found;
}
