/**
 * Large payloads by reference (store/payload-files.ts), end to end on the real dev server: a
 * farm whose carried state is over 2 MB (a month of grant ids: 45,000 of them, kept for the grant
 * window) starts, answers, takes grants and continues as new with it, though Temporal refuses any
 * payload over 2 MB. Its histories hold only references for those inputs, and plain JSON for
 * every small payload, which a client without the codec reads.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newFarm } from '../../game';
import { PAYLOAD_REFERENCE_THRESHOLD, payloadFilesDir } from '../../store/payload-files';
import {
  type FarmCarriedState,
  farmWorkflowId,
  type GameFarmInput,
  getFarmQuery,
  grantRewardSignal,
  hasGrantQuery,
  WORKFLOW_TYPES,
} from '../../workflows/contract';
import { newPlayer, startTestGame, type TestGame } from '../support/game';
import { EventType, historyPayloads } from '../support/history';

const GRANTS = 45_000;
const REFERENCE_TYPE = 'temporal.api.sdk.v1.ExternalStorageReference';

describe('payloads over 256 KiB go by reference', () => {
  let g: TestGame;
  beforeAll(async () => {
    g = await startTestGame({ farmMaxHistoryEvents: 20 });
  });
  afterAll(() => g.close());

  it('a farm carrying 2.9 MB starts, plays and continues as new; history keeps references only', async () => {
    const userHash = g.game.userHashOf(newPlayer().telegramUserId);
    const workflowId = farmWorkflowId(userHash);
    const now = Date.now();
    const appliedGrants: Record<string, number> = {};
    for (let i = 0; i < GRANTS; i++)
      appliedGrants[`batch-2026-11-${i}-daily-reward-for-everyone`] = now;
    const carried: FarmCarriedState = {
      farm: { ...newFarm(now, 0.001), coins: 100 },
      readyCrops: [],
      appliedGrants,
      recentActions: {},
      registered: true,
    };
    const input: GameFarmInput = {
      userHash,
      timeScale: 0.001,
      sealedChatId: 'sealed',
      carried,
      maxHistoryEvents: 20,
      notificationsTaskQueue: `${g.t.taskQueue}-notifications`,
    };
    const size = Buffer.byteLength(JSON.stringify(input));
    expect(size).toBeGreaterThan(2 * 1024 * 1024);

    // Without the reference, Temporal refuses it.
    const plain = new Client({ connection: g.t.client.connection, namespace: g.t.namespace });
    await expect(
      plain.workflow.start(WORKFLOW_TYPES.gameFarm, {
        taskQueue: g.t.taskQueue,
        workflowId: `${workflowId}-plain`,
        args: [input],
      }),
    ).rejects.toSatisfy((err: Error & { cause?: Error }) =>
      /Blob data size exceeds limit/.test(err.cause?.message ?? ''),
    );

    const { firstExecutionRunId: firstRunId } = await g.t.client.workflow.start(
      WORKFLOW_TYPES.gameFarm,
      { taskQueue: g.t.taskQueue, workflowId, args: [input] },
    );
    // The farm's latest run, whichever it is.
    const handle = g.t.client.workflow.getHandle(workflowId);
    expect((await handle.query(getFarmQuery)).farm.coins).toBe(100);

    // Grants past the farm's history bound (20 events): it continues as new, carrying it all on.
    for (let i = 0; i < 25; i++) {
      await handle.signal(grantRewardSignal, {
        grantId: `big-${i}`,
        issuedAtMs: Date.now(),
        coins: 1,
        xp: 0,
        reason: 'test',
      });
    }
    await expect
      .poll(async () => (await handle.describe()).runId, { timeout: 20_000 })
      .not.toBe(firstRunId);
    const secondRunId = (await handle.describe()).runId;
    expect(await handle.query(hasGrantQuery, 'batch-2026-11-44999-daily-reward-for-everyone')).toBe(
      true,
    );
    // A grant of the first run, again: remembered, paid once.
    await handle.signal(grantRewardSignal, {
      grantId: 'big-0',
      issuedAtMs: Date.now(),
      coins: 1,
      xp: 0,
      reason: 'test',
    });
    const coins = (await handle.query(getFarmQuery)).farm.coins;
    expect(coins).toBeGreaterThan(100);

    for (const runId of [firstRunId, secondRunId]) {
      const payloads = await historyPayloads(g.t.client, workflowId, runId);
      const started = payloads.filter(
        (p) => p.event === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
      );
      expect(started.map((p) => p.metadata.messageType)).toContain(REFERENCE_TYPE);
      for (const payload of payloads) {
        expect(payload.data.length).toBeLessThan(PAYLOAD_REFERENCE_THRESHOLD);
        // Every payload that is not a reference is plain JSON, as any client reads it.
        if (payload.metadata.messageType !== REFERENCE_TYPE) {
          expect(payload.metadata.encoding).toBe('json/plain');
          expect(() => JSON.parse(payload.data.toString()) as unknown).not.toThrow();
        }
      }
      // The signals stayed inline: small payloads are not references.
      expect(
        payloads.some(
          (p) =>
            p.event === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED &&
            p.metadata.encoding === 'json/plain',
        ),
      ).toBe(true);
    }
    // The referenced payloads are files in the shared directory, read by every process.
    const dir = payloadFilesDir(g.t.sharedFilesDir);
    expect(existsSync(dir)).toBe(true);
    expect(
      readdirSync(dir).flatMap((d) => readdirSync(join(dir, d))).length,
    ).toBeGreaterThanOrEqual(2);
  });
});
