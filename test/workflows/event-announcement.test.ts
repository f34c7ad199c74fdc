/**
 * A calendar event's run starts the announcement batch for its event (real dev server): one batch
 * per event run, id from the event and its start, every player, not sent after the event's end;
 * a second run of the same event start finds it and starts nothing new. And the CLI's estimate
 * of how long an announcement takes.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announcementLine } from '../../schedules/commands';
import { batchWorkflowId, type PlayerBatchInput } from '../../workflows/contract';
import { announcementBatchId } from '../../workflows/calendar-event';
import { startTestGame, type TestGame } from '../support/game';
import { eventInput, startCalendarEvent } from '../support/world';

describe('event announcements', () => {
  let g: TestGame;
  beforeAll(async () => {
    g = await startTestGame();
  });
  afterAll(() => g.close());

  it('a run of a calendar event starts one announcement batch, until the event ends', async () => {
    const eventId = `fair-${randomUUID().slice(0, 8)}`;
    const input = eventInput({ eventId, durationMs: 2_000, announcement: 'Prices are up!' });
    const run = await startCalendarEvent(g, input);
    const { startTime } = await run.describe();
    const batchId = announcementBatchId(eventId, startTime.getTime());
    const batch = g.t.client.workflow.getHandle(batchWorkflowId(batchId));
    await expect
      .poll(async () => (await batch.describe().catch(() => undefined))?.type)
      .toBe('PlayerBatchWorkflow');
    const [args] = (await batch.fetchHistory()).events![0]!.workflowExecutionStartedEventAttributes!
      .input!.payloads!;
    const started = JSON.parse(Buffer.from(args!.data!).toString()) as PlayerBatchInput;
    expect(started).toEqual({
      batchId,
      population: { kind: 'all' },
      payload: {
        kind: 'notice',
        content: {
          topic: 'announcement',
          eventId,
          name: input.name,
          text: 'Prices are up!',
          endsAtMs: startTime.getTime() + 2_000,
        },
        notAfterMs: startTime.getTime() + 2_000,
      },
    });
    expect(await run.result()).toMatchObject({ outcome: 'ran' });
  });

  it('the CLI estimates an announcement at the configured rate and at 30/s, and warns', () => {
    expect(announcementLine(1_000_000, 20, 2 * 3600_000)).toBe(
      'announcement to 1,000,000 players ≈ 13h 53m at 20/s, 9h 16m at 30/s; WARNING: longer than the event (2h 0m): only about 144,000 players are told before it ends',
    );
    expect(announcementLine(1_000, 20, 2 * 3600_000)).toBe(
      'announcement to 1,000 players ≈ 50s at 20/s, 34s at 30/s',
    );
  });
});
