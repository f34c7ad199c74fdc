/**
 * The chaos play's checks (dev/chaos/checks.ts) on a small made-up play: one player who started,
 * planted wheat and claimed the daily bonus, and the batch's reward. The honest play passes every
 * check; each broken variant (a lost action, one applied twice, one applied though the player was
 * told it failed, a wrong coin count, a failed workflow, a batch paid twice or short, an update
 * never answered, a fault that never healed) fails its check, and only that one.
 */
import { describe, expect, it } from 'vitest';
import { APOLOGY_TEXT } from '../../../bot/apology';
import { renderScreen, WORKING_TEXT } from '../../../bot/render';
import { encodeButton } from '../../../bot/callback-data';
import { CHECKS, type CheckInput, runChecks } from '../../../dev/chaos/checks';
import { actionIdOf, type Facts, type PlayerFacts } from '../../../dev/chaos/facts';
import type { UpdateRecord } from '../../../dev/chaos/players';
import {
  applyAction,
  newFarm,
  NEUTRAL_WORLD,
  type ActionEvent,
  type FarmAction,
} from '../../../game';
import type { MainMenuScreen } from '../../../workflows/contract';

const USER = 7_100_000_000;
const HASH = 'abcdefghijklmnop';
const BATCH = { id: 'chaos-reward', coins: 100 };
const T0 = 1_800_000_000_000;

/** The farm after each action, and the screen its per-message workflow returned. */
function act(state: ReturnType<typeof newFarm>, action: FarmAction, at: number) {
  const result = applyAction(state, action, NEUTRAL_WORLD, at);
  if (!result.ok) throw new Error(result.reason);
  const screen: MainMenuScreen = {
    kind: 'actionDone',
    event: result.event,
    snapshot: { userHash: HASH, farm: result.state, readyCrops: [], asOfMs: at },
    world: NEUTRAL_WORLD,
  };
  return { state: result.state, event: result.event, screen };
}

function honestPlay(): CheckInput {
  const start = newFarm(T0, 0.01);
  const plant = act(start, { type: 'plant', plotId: 0, cropId: 'wheat' }, T0 + 1000);
  const bonus = act(plant.state, { type: 'claimDailyBonus' }, T0 + 2000);
  const press = (
    updateId: number,
    data: string,
    screen: MainMenuScreen,
    at: number,
  ): UpdateRecord => ({
    userId: USER,
    updateId,
    input: data,
    kind: 'press',
    messageId: 2,
    sentAt: at,
    attempts: [
      { at, status: 503 },
      { at: at + 600, status: 200 },
    ],
    answeredAt: at + 600,
    told: renderScreen(screen).text,
  });
  const records: UpdateRecord[] = [
    {
      userId: USER,
      updateId: 1,
      input: '/start',
      kind: 'command',
      messageId: 2,
      sentAt: T0,
      attempts: [{ at: T0, status: 200 }],
      answeredAt: T0 + 100,
      told: '🌻 Your farm',
    },
    press(2, encodeButton({ kind: 'plant', plotId: 0, cropId: 'wheat' }), plant.screen, T0 + 1000),
    press(3, encodeButton({ kind: 'dailyBonus' }), bonus.screen, T0 + 2000),
  ];
  const application = (updateId: number, event: ActionEvent) => ({
    actionId: actionIdOf(HASH, updateId),
    event,
    repeated: false,
  });
  const player: PlayerFacts = {
    userId: USER,
    userHash: HASH,
    coins: bonus.state.coins + BATCH.coins,
    applications: [
      application(2, plant.event),
      // The retry of the same action after a worker died: answered from memory.
      { ...application(2, plant.event), repeated: true },
      application(3, bonus.event),
    ],
    log: [
      {
        kind: 'grant',
        atMs: T0 + 3000,
        grantId: 'g1',
        coins: BATCH.coins,
        xp: 5,
        reason: 'chaos reward',
        batchId: BATCH.id,
      },
    ],
    results: { 2: plant.screen, 3: bonus.screen },
    badWorkflows: [],
    rewardMessages: 1,
  };
  const facts: Facts = {
    players: [player],
    batch: {
      batchId: BATCH.id,
      outcome: 'done',
      population: 1,
      done: 1,
      failures: 0,
      failureSamples: [],
      paidCoins: BATCH.coins,
      paidXp: 5,
      startedAtMs: T0 + 2500,
      finishedAtMs: T0 + 3500,
    },
    otherBadWorkflows: [],
  };
  return {
    records,
    facts,
    faults: [{ kind: 'worker', name: 'worker killed #1', at: T0 + 900, backAt: T0 + 1200 }],
    batch: BATCH,
    healWithinMs: 90_000,
  };
}

const failedChecks = (input: CheckInput) =>
  runChecks(input)
    .filter((finding) => !finding.passed)
    .map((finding) => finding.check);

const player = (input: CheckInput) => input.facts.players[0]!;

describe('chaos checks', () => {
  it('pass an honest play, faults and retries included', () => {
    const findings = runChecks(honestPlay());
    expect(findings.filter((f) => !f.passed)).toEqual([]);
    // Per player: answered, told, acknowledged, not failed, once, ledger, workflows, paid once;
    // then the batch, the workflows outside players, and the one fault.
    expect(findings).toHaveLength(8 + 2 + 1);
  });

  const variants: [string, keyof typeof CHECKS, (input: CheckInput) => void][] = [
    ['an update never answered', 'answered', (i) => void (i.records[1]!.answeredAt = undefined)],
    ['a chat left at "working…"', 'answered', (i) => void (i.records[2]!.told = WORKING_TEXT)],
    [
      'a reply that shows something the farm did not do',
      'told',
      (i) => void (i.records[2]!.told = i.records[1]!.told),
    ],
    [
      'an acknowledged action missing from the farm',
      'acknowledged',
      (i) => {
        // The farm lost the daily bonus: its coins went back with it, so the ledger fails too.
        const p = player(i);
        p.applications = p.applications.filter((a) => a.actionId !== actionIdOf(HASH, 3));
        p.coins -= 10;
      },
    ],
    [
      'an action applied twice',
      'once',
      (i) => player(i).applications.push({ ...player(i).applications[0]!, repeated: false }),
    ],
    [
      'a grant applied twice',
      'once',
      (i) => player(i).log.push({ ...player(i).log[0]!, batchId: 'other' }),
    ],
    ['coins that do not add up', 'ledger', (i) => void (player(i).coins += 7)],
    [
      'a failed workflow of the player',
      'workflows',
      (i) => void (player(i).badWorkflows = ['game-farm-x (FAILED)']),
    ],
    [
      'a failed workflow of no player',
      'workflows',
      (i) => void (i.facts.otherBadWorkflows = ['batch-chaos-reward (TERMINATED)']),
    ],
    ['a reward message sent twice', 'paidOnce', (i) => void (player(i).rewardMessages = 2)],
    [
      'a batch short of its population',
      'batch',
      (i) => void Object.assign(i.facts.batch, { outcome: 'incomplete', done: 0 }),
    ],
    [
      'a fault whose component never came back',
      'healed',
      (i) => void (i.faults[0]!.backAt = undefined),
    ],
  ];

  it.each(variants)('fail on %s', (_, check, breakIt) => {
    const input = honestPlay();
    breakIt(input);
    expect(failedChecks(input)).toContain(CHECKS[check]);
  });

  it('fail when an action the player was told had failed is in the farm', () => {
    const input = honestPlay();
    // The reply said "something went wrong", yet the farm applied the bonus.
    input.records[2]!.told = `${APOLOGY_TEXT}\n${input.records[2]!.told}`;
    const failed = failedChecks(input);
    expect(failed).toContain(CHECKS.notFailed);
    // Its coins are in the farm though the player was not told of them.
    expect(failed).toContain(CHECKS.ledger);
  });

  it('fail only the broken check where the breakage touches one', () => {
    const input = honestPlay();
    player(input).coins += 7;
    expect(failedChecks(input)).toEqual([CHECKS.ledger]);
  });
});
