/**
 * Determinism guard: histories recorded from a full play session (npm run record:histories)
 * must replay against the current workflow code. A change that alters what a workflow does on
 * replay fails here; such a change needs `patched()` (see README), and fixtures of the new shape
 * recorded next to the old ones. A history whose payloads went by reference replays with the
 * converter every process has, reading its payload file from test/fixtures/payloads.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { EVENT_ANNOUNCEMENTS_PATCH } from '../../workflows/calendar-event';
import {
  PROFILES_AND_NOTIFICATIONS_PATCH,
  REGISTRATION_OFF_MAIN_PATH_PATCH,
} from '../../workflows/farm';
import { farmflowDataConverter } from '../../store/payload-files';
import { installTestRuntime } from '../support/temporal';

const DIR = join(__dirname, '..', 'fixtures', 'histories');
/** Where the references in the histories point: `payloads/` under it, as under SHARED_FILES_DIR. */
const PAYLOAD_FILES = join(__dirname, '..', 'fixtures');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

describe('recorded histories replay against the current workflow code', () => {
  beforeAll(() => installTestRuntime());

  it('has the fixtures of a full session, of every shape a running farm may still have', () => {
    const session = [
      'game-farm-first-run',
      'game-farm-second-run',
      'main-menu-message-sell',
      'main-menu-query',
    ];
    expect(files.sort()).toEqual(
      [
        // Before registration ran beside the farm (no patch marker).
        ...session.map((name) => `${name}.json`),
        // Registration beside the farm: patched('registration-off-main-path').
        ...[...session, 'game-farm-registration-failed'].map(
          (name) => `${name}.${REGISTRATION_OFF_MAIN_PATH_PATCH}.json`,
        ),
        // Profiles, the farm's log and its notifications: patched('profiles-and-notifications').
        ...[...session, 'game-farm-registration-failed', 'game-farm-notifications'].map(
          (name) => `${name}.${PROFILES_AND_NOTIFICATIONS_PATCH}.json`,
        ),
        // The scheduled workflows, in their first shape.
        'market-tick.json',
        'calendar-event.json',
        // A calendar event that announces itself: patched('event-announcements').
        `calendar-event.${EVENT_ANNOUNCEMENTS_PATCH}.json`,
        // The Redis backfill, in its first shape: begin, pages, catch-up pass, finish.
        'redis-backfill.json',
        // A reward batch (a page per run) and a weekly prize, in their first shapes.
        'player-batch.json',
        'weekly-prize.json',
        // Support's compensation, in its first shape: the farm signalled, the result.
        'support-grant.json',
        // A farm report, in its first shape: read, claimed, drawn and published on one worker.
        'farm-report.json',
        // A farm whose start input (its carried state, over 256 KiB) went by reference.
        'game-farm-payload-reference.json',
      ].sort(),
    );
    // A farm that told its player things: a wave, a reward, a notice; its copy published.
    const told = readFileSync(
      join(DIR, `game-farm-notifications.${PROFILES_AND_NOTIFICATIONS_PATCH}.json`),
      'utf8',
    );
    for (const activity of ['sendNotification', 'publishPlayer'])
      expect(told).toContain(`"name": "${activity}"`);
    expect(told).toContain('EVENT_TYPE_MARKER_RECORDED');
    const batch = readFileSync(join(DIR, 'player-batch.json'), 'utf8');
    expect(batch).toContain('"name": "deliverToPlayers"');
    expect(batch).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
    expect(readFileSync(join(DIR, 'weekly-prize.json'), 'utf8')).toContain(
      'EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED',
    );
    expect(
      readFileSync(join(DIR, `calendar-event.${EVENT_ANNOUNCEMENTS_PATCH}.json`), 'utf8'),
    ).toContain('EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED');
    for (const file of [
      'game-farm-first-run.json',
      `game-farm-first-run.${REGISTRATION_OFF_MAIN_PATH_PATCH}.json`,
    ]) {
      const first = readFileSync(join(DIR, file), 'utf8');
      expect(first).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
      expect(first).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED');
      expect(first).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED');
      expect(first).toContain('EVENT_TYPE_TIMER_FIRED');
    }
    expect(readFileSync(join(DIR, 'game-farm-first-run.json'), 'utf8')).not.toContain(
      REGISTRATION_OFF_MAIN_PATH_PATCH,
    );
    expect(
      readFileSync(
        join(DIR, `game-farm-first-run.${REGISTRATION_OFF_MAIN_PATH_PATCH}.json`),
        'utf8',
      ),
    ).toContain('EVENT_TYPE_MARKER_RECORDED');
    // A registration that failed for good, and the farm continued as new all the same.
    const failed = readFileSync(
      join(DIR, `game-farm-registration-failed.${REGISTRATION_OFF_MAIN_PATH_PATCH}.json`),
      'utf8',
    );
    expect(failed).toContain('EVENT_TYPE_ACTIVITY_TASK_FAILED');
    expect(failed).toContain('SealedChatIdUnreadable');
    expect(failed).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
    // An event's whole run: its memo set, the world written, its durable timer, the world restored.
    const event = readFileSync(join(DIR, 'calendar-event.json'), 'utf8');
    expect(event).toContain('EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED');
    expect(event).toContain('EVENT_TYPE_TIMER_FIRED');
    expect(event.match(/EVENT_TYPE_ACTIVITY_TASK_COMPLETED/g)).toHaveLength(2);
    const backfill = readFileSync(join(DIR, 'redis-backfill.json'), 'utf8');
    for (const activity of ['beginRedisRebuild', 'backfillFarmsPage', 'finishRedisRebuild'])
      expect(backfill).toContain(`"name": "${activity}"`);
    expect(backfill).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    expect(readFileSync(join(DIR, 'support-grant.json'), 'utf8')).toContain(
      'EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED',
    );
    // The farm's start input is a reference; its file is kept beside the fixtures.
    const referenced = readFileSync(join(DIR, 'game-farm-payload-reference.json'), 'utf8');
    const started = (
      JSON.parse(referenced) as {
        events: {
          workflowExecutionStartedEventAttributes?: {
            input: { payloads: { metadata: Record<string, string> }[] };
          };
        }[];
      }
    ).events[0]!.workflowExecutionStartedEventAttributes!.input.payloads[0]!;
    expect(Buffer.from(started.metadata.messageType!, 'base64').toString()).toBe(
      'temporal.api.sdk.v1.ExternalStorageReference',
    );
    expect(readdirSync(join(PAYLOAD_FILES, 'payloads'))).toHaveLength(1);
    const report = readFileSync(join(DIR, 'farm-report.json'), 'utf8');
    for (const activity of [
      'readFarmForReport',
      'claimFileWorker',
      'renderReport',
      'publishReport',
    ])
      expect(report).toContain(`"name": "${activity}"`);
    expect(readFileSync(join(DIR, 'market-tick.json'), 'utf8')).toContain(
      'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED',
    );
  });

  it.each(files)('%s replays without nondeterminism', async (file) => {
    const history: unknown = JSON.parse(readFileSync(join(DIR, file), 'utf8'));
    await Worker.runReplayHistory(
      {
        workflowBundle: { codePath: inject('workflowBundlePath') },
        dataConverter: farmflowDataConverter(PAYLOAD_FILES),
      },
      history,
      `replay-${file}`,
    );
  });
});
