/**
 * The chaos play's verdicts: pure functions of what the players saw (./players.ts), what
 * Temporal and the chats hold at the end (./facts.ts) and when the faults struck (./faults.ts).
 * One finding per check and player, and one per global check and fault; a test feeds each check a
 * deliberately broken variant to show that it can fail.
 */
import { APOLOGY_TEXT } from '../../bot/apology';
import { renderScreen, WORKING_TEXT } from '../../bot/render';
import { type ActionEvent, STARTING_COINS } from '../../game';
import { FARM_LOG_LIMIT, type FarmLogEntry, type MainMenuScreen } from '../../workflows/contract';
import { actionIdOf, type Facts, isActionPress, type PlayerFacts } from './facts';
import type { FaultRecord } from './faults';
import type { UpdateRecord } from './players';

export interface Finding {
  check: string;
  /** The player (`player <user id>`), the fault, or `stack`. */
  subject: string;
  passed: boolean;
  detail?: string;
}

export interface CheckInput {
  records: UpdateRecord[];
  facts: Facts;
  faults: FaultRecord[];
  batch: { id: string; coins: number };
  /** A fault counts as healed when everything it touched was answered within this. */
  healWithinMs: number;
}

export const CHECKS = {
  answered: 'every update got an answer once the faults healed',
  told: 'the player was told exactly what the farm did',
  acknowledged: 'every action the bot acknowledged is in the farm',
  notFailed: 'no action applied that the player was told had failed',
  once: 'no action and no grant applied twice',
  ledger: 'the coin ledger adds up from acknowledged actions and grants',
  workflows: 'no workflow failed, timed out or was terminated',
  paidOnce: 'the reward batch paid this player once, and said so once',
  batch: 'the reward batch paid its whole population',
  healed: 'healed',
} as const;

/** What an action did to the coins. */
export function coinDelta(event: ActionEvent): number {
  switch (event.type) {
    case 'planted':
    case 'plotBought':
      return -event.coinsSpent;
    case 'sold':
    case 'dailyBonusClaimed':
      return event.coinsEarned;
    case 'harvested':
    case 'preferencesChanged':
      return 0;
  }
}

export const unanswered = (record: UpdateRecord) =>
  record.answeredAt === undefined || record.told === undefined || record.told === WORKING_TEXT;

/** Why an update counts as unanswered, and how its deliveries went, for the findings. */
function howUnanswered(record: UpdateRecord): string {
  const at = (ms: number) => `+${((ms - record.sentAt) / 1000).toFixed(1)} s`;
  const deliveries = record.attempts
    .map((attempt) => `${at(attempt.at)} ${attempt.status ?? attempt.error ?? 'no answer'}`)
    .join(', ');
  const why =
    record.answeredAt === undefined
      ? 'no 2xx'
      : record.told === undefined
        ? 'a 2xx, but no reply in the chat'
        : 'a 2xx, but the chat still shows "working…"';
  return `update ${record.updateId} (${record.input}): ${why}; deliveries ${deliveries || 'none'}`;
}

const grantsOf = (log: FarmLogEntry[]) =>
  log.filter((entry): entry is Extract<FarmLogEntry, { kind: 'grant' }> => entry.kind === 'grant');

const list = (items: (string | number)[], max = 5) =>
  `${items.slice(0, max).join(', ')}${items.length > max ? ` and ${items.length - max} more` : ''}`;

function playerFindings(
  player: PlayerFacts,
  records: UpdateRecord[],
  input: CheckInput,
): Finding[] {
  const subject = `player ${player.userId}`;
  const finding = (check: keyof typeof CHECKS, problems: string[], detail?: string): Finding => ({
    check: CHECKS[check],
    subject,
    passed: problems.length === 0,
    ...(problems.length > 0 ? { detail: list(problems) } : detail ? { detail } : {}),
  });
  const actions = records.filter(isActionPress);
  const applied = player.applications.filter((application) => !application.repeated);
  const appliedIds = new Set(applied.map((application) => application.actionId));

  // What the player was told of each action, as the farm answered it.
  const told = actions
    .filter((record) => !unanswered(record))
    .map((record): { record: UpdateRecord; actionId: string; screen?: MainMenuScreen } => {
      const result = player.results[record.updateId];
      const actionId = actionIdOf(player.userHash, record.updateId);
      return !result || 'error' in result
        ? { record, actionId }
        : { record, actionId, screen: result };
    });
  const acknowledged = told.filter(
    ({ record, screen }) => screen?.kind === 'actionDone' && !record.told!.includes(APOLOGY_TEXT),
  );

  const grants = grantsOf(player.log);
  const grantIds = grants.map((grant) => grant.grantId);
  const batchGrants = grants.filter((grant) => grant.batchId === input.batch.id);
  const expectedCoins =
    STARTING_COINS +
    acknowledged.reduce(
      (sum, { screen }) => sum + coinDelta((screen as { event: ActionEvent }).event),
      0,
    ) +
    grants.reduce((sum, grant) => sum + grant.coins, 0);

  return [
    finding('answered', records.filter(unanswered).map(howUnanswered), `${records.length} updates`),
    finding(
      'told',
      told.flatMap(({ record, screen }) => {
        if (!screen) return [`update ${record.updateId}: no result of its workflow`];
        if (record.told!.includes(APOLOGY_TEXT)) return [];
        return renderScreen(screen).text === record.told
          ? []
          : [`update ${record.updateId}: shown "${record.told!.slice(0, 60)}…"`];
      }),
    ),
    finding(
      'acknowledged',
      acknowledged
        .filter(({ actionId }) => !appliedIds.has(actionId))
        .map(({ record }) => `update ${record.updateId}`),
      `${acknowledged.length} actions`,
    ),
    finding(
      'notFailed',
      told
        .filter(
          ({ record, screen }) =>
            (record.told!.includes(APOLOGY_TEXT) || screen?.kind === 'actionRefused') &&
            appliedIds.has(actionIdOf(player.userHash, record.updateId)),
        )
        .map(({ record }) => `update ${record.updateId}`),
    ),
    finding('once', [
      ...[...new Set(applied.map((a) => a.actionId))]
        .filter((id) => applied.filter((a) => a.actionId === id).length > 1)
        .map((id) => `action ${id}`),
      ...[...new Set(grantIds)]
        .filter((id) => grantIds.filter((other) => other === id).length > 1)
        .map((id) => `grant ${id}`),
    ]),
    finding(
      'ledger',
      player.log.length >= FARM_LOG_LIMIT
        ? [`the farm log is full (${FARM_LOG_LIMIT}): older grants may be missing from it`]
        : player.coins === expectedCoins
          ? []
          : [
              `the farm has ${player.coins} coins, acknowledged actions and grants make ${expectedCoins}`,
            ],
      `${player.coins} coins`,
    ),
    finding('workflows', player.badWorkflows),
    finding(
      'paidOnce',
      batchGrants.length === 1 &&
        batchGrants[0]!.coins === input.batch.coins &&
        player.rewardMessages === 1
        ? []
        : [
            `${batchGrants.length} grants of the batch (${batchGrants.map((g) => g.coins).join(', ') || 'none'}), ${player.rewardMessages} reward messages`,
          ],
    ),
  ];
}

/** How long the fault took to heal: until everything sent before its component was back got its answer. */
export function healTime(fault: FaultRecord, records: UpdateRecord[]): number | undefined {
  if (fault.backAt === undefined) return undefined;
  const touched = records.filter(
    (record) =>
      record.sentAt <= fault.backAt! &&
      (record.answeredAt === undefined || record.answeredAt >= fault.at),
  );
  if (touched.some((record) => record.answeredAt === undefined)) return undefined;
  return Math.max(fault.backAt, ...touched.map((record) => record.answeredAt!)) - fault.at;
}

export function runChecks(input: CheckInput): Finding[] {
  const { facts } = input;
  const findings = facts.players.flatMap((player) =>
    playerFindings(
      player,
      input.records.filter((record) => record.userId === player.userId),
      input,
    ),
  );
  const batch = facts.batch;
  findings.push({
    check: CHECKS.batch,
    subject: 'stack',
    passed:
      !('error' in batch) &&
      batch.outcome === 'done' &&
      batch.population === facts.players.length &&
      batch.done === facts.players.length,
    detail:
      'error' in batch
        ? batch.error
        : `${batch.outcome}: ${batch.done} of ${batch.population} paid, population of ${facts.players.length} players`,
  });
  findings.push({
    check: CHECKS.workflows,
    subject: 'stack',
    passed: facts.otherBadWorkflows.length === 0,
    ...(facts.otherBadWorkflows.length > 0 ? { detail: list(facts.otherBadWorkflows) } : {}),
  });
  for (const fault of input.faults.filter((f) => f.kind !== 'batch')) {
    const heal = healTime(fault, input.records);
    findings.push({
      check: CHECKS.healed,
      subject: fault.name,
      passed: heal !== undefined && heal <= input.healWithinMs,
      detail:
        fault.error ??
        (heal === undefined
          ? 'not healed: something it touched was never answered'
          : `${(heal / 1000).toFixed(1)} s${fault.backAt ? ` (back after ${((fault.backAt - fault.at) / 1000).toFixed(1)} s)` : ''}`),
    });
  }
  return findings;
}
