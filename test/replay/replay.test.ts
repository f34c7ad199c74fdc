/**
 * Determinism guard: histories recorded from a full play session (npm run record:histories)
 * must replay against the current workflow code. A change that alters what a workflow does on
 * replay fails here; such a change needs `patched()` (see README), not new fixtures.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { installTestRuntime } from '../support/temporal';

const DIR = join(__dirname, '..', 'fixtures', 'histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

describe('recorded histories replay against the current workflow code', () => {
  beforeAll(() => installTestRuntime());

  it('has the fixtures of a full session', () => {
    expect(files.sort()).toEqual([
      'game-farm-first-run.json',
      'game-farm-second-run.json',
      'main-menu-message-sell.json',
      'main-menu-query.json',
    ]);
    const first = readFileSync(join(DIR, 'game-farm-first-run.json'), 'utf8');
    expect(first).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
    expect(first).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED');
    expect(first).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED');
    expect(first).toContain('EVENT_TYPE_TIMER_FIRED');
  });

  it.each(files)('%s replays without nondeterminism', async (file) => {
    const history: unknown = JSON.parse(readFileSync(join(DIR, file), 'utf8'));
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: inject('workflowBundlePath') } },
      history,
      `replay-${file}`,
    );
  });
});
