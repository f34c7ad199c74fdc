/**
 * `npm run support -- <code>` as a person and a script run it: a real process against the run's
 * dev server and the real Redis, with only the variables it reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlayerStory } from '../../../bot/support/story';
import { WORKFLOW_TYPES } from '../../../workflows/contract';
import { REDIS_URL } from '../../support/constants';
import { runCommand } from '../../support/processes';
import { newPlayer, nextUpdateId, startTestGame, type TestGame } from '../../support/game';
import { eventually } from '../../support/schedules';

let g: TestGame;
const player = newPlayer();
let code: string;

beforeAll(async () => {
  // Real time: the wheat stays growing, so the newest entry is the planting.
  g = await startTestGame({ timeScale: 1 });
  code = (await g.game.handleIntent(player, { type: 'query' }, nextUpdateId())).userHash;
  await g.game.handleIntent(
    player,
    { type: 'message', action: { type: 'plant', plotId: 1, cropId: 'wheat' } },
    nextUpdateId(),
  );
  await eventually(
    async () => {
      const { count } = await g.t.client.workflow.count(
        `UserHash = '${code}' AND ExecutionStatus = 'Completed'`,
      );
      return count >= 2 ? count : undefined;
    },
    10_000,
    'visibility lists both messages answered',
  );
});

afterAll(async () => {
  await g?.close();
});

/** `npm run -s support -- …` with only the variables it reads. */
const support = (args: string[], env: Record<string, string> = {}) =>
  runCommand('npm', ['run', '-s', 'support', '--', ...args], {
    TEMPORAL_ADDRESS: g.t.address,
    REDIS_URL,
    REDIS_KEY_PREFIX: g.keyPrefix,
    TEMPORAL_UI_URL: 'http://ui.example:8080/',
    ...env,
  });

describe('npm run support', () => {
  it('--json: exactly one JSON document on stdout, with the farm, workflows and timeline', async () => {
    const ran = await support([code, '--json']);
    expect(ran).toMatchObject({ code: 0, stderr: '' });
    const story = JSON.parse(ran.stdout) as PlayerStory;
    expect(story.userHash).toBe(code);
    expect(typeof story.farm?.coins).toBe('number');
    // The fields a script relies on, each of the right type.
    const farmRun = story.workflows.find((w) => w.type === WORKFLOW_TYPES.gameFarm)!;
    expect(farmRun).toMatchObject({ id: `game-farm-${code}`, status: 'RUNNING', closeTime: null });
    expect(farmRun.link).toMatch(/^http:\/\/ui\.example:8080\/namespaces\/default\/workflows\//);
    for (const w of story.workflows) {
      expect(Object.keys(w).sort()).toEqual(
        ['closeTime', 'failed', 'id', 'link', 'runId', 'startTime', 'status', 'type'].sort(),
      );
      expect(Number.isNaN(Date.parse(w.startTime))).toBe(false);
    }
    expect(story.workflows.map((w) => `${w.type} ${w.status}`)).toContain(
      `${WORKFLOW_TYPES.mainMenuMessage} COMPLETED`,
    );
    const newest = story.timeline[0]!;
    expect(newest).toMatchObject({ kind: 'message', source: 'temporal' });
    expect(newest.summary).toMatch(/^plant wheat on plot 2: planted/);
    expect(Object.keys(newest).sort()).toEqual(
      ['kind', 'runId', 'source', 'summary', 'time', 'workflowId'].sort(),
    );
    expect(ran.stdout).not.toContain(String(player.telegramUserId));
  });

  it('prints the story for a person, and pages with --limit and --before', async () => {
    const ran = await support([code, '--limit', '1']);
    expect(ran).toMatchObject({ code: 0, stderr: '' });
    expect(ran.stdout).toContain(`Player ${code}`);
    expect(ran.stdout).toMatch(/plant wheat on plot 2: planted/);
    const older = /--before (\S+)/.exec(ran.stdout)?.[1];
    expect(older).toBeDefined();
    const next = await support([code, '--limit', '1', '--before', older!, '--json']);
    expect((JSON.parse(next.stdout) as PlayerStory).timeline[0]!.summary).toBe('opened the farm');
  });

  it('a malformed code exits 2 and an unknown one 1, each with one line on stderr', async () => {
    const malformed = await support(['NOT-A-CODE']);
    expect(malformed).toMatchObject({ code: 2, stdout: '' });
    expect(malformed.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^support: not a support code: a support code is 16 characters/),
    ]);
    const unknown = await support(['aaaaaaaaaaaaaaaa', '--json']);
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr.trim().split('\n')).toEqual([
      'support: no player has the support code aaaaaaaaaaaaaaaa: no farm and no workflow carries it',
    ]);
  });

  it('says so in one line when Temporal is unreachable', async () => {
    const ran = await support([code], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(ran).toMatchObject({ code: 1, stdout: '' });
    expect(ran.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^support: Temporal is unreachable at 127\.0\.0\.1:1/),
    ]);
  });
});
