/**
 * The schedules CLI's commands, apart from the process that runs them (schedules/cli.ts): they
 * take the operations and two writers, so tests run them in-process on real or stand-in
 * operations and read exactly what a person would see.
 *
 * stdout carries the command's output and nothing else; errors are one line on stderr. Exit
 * status: 0 done, 1 the operation failed (not found, conflict, Temporal unreachable), 2 the
 * request was wrong (usage, a bad range or note, invalid definitions).
 */
import { isGrpcServiceError } from '@temporalio/client';
import { TemporalUnreachableError } from '../infra/temporal-tool';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { CROP_IDS, CROPS, eventAppliesTo, sellPrice, type WorldState } from '../game';
import type { Logger } from '../infra/logging';
import { RedisUnavailableError } from '../store/redis';
import type { BatchProgress } from '../workflows/contract';
import {
  BatchAlreadyRanError,
  BatchNotFoundError,
  type BatchOperations,
  BatchRequestError,
  type BatchSummary,
  type GrantRequest,
} from './batches';
import { ScheduleDefinitionError } from './definition';
import { formatDuration } from './fields';
import { progressLine, watchProgress } from './progress-view';
import { followRedisBackfill, type RedisBackfillRun } from './redis-backfill';
import {
  type ApplyResult,
  type Plan,
  ScheduleConflictError,
  type ScheduleDetails,
  ScheduleNotFoundError,
  type ScheduleOperations,
  ScheduleRequestError,
  type ScheduleSummary,
} from './operations';

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** gRPC status codes (grpc-js's `status`, which is not our dependency). */
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;

/** The backfill ended without marking Redis's copy whole (its last line says why). */
export class RedisBackfillIncompleteError extends Error {
  constructor() {
    super(
      "the backfill ended without marking Redis's copy of the players whole; see the lines above, and run it again",
    );
    this.name = 'RedisBackfillIncompleteError';
  }
}

export interface SchedulesCliDeps {
  /** Called on a command's first need: --help and usage errors never connect. */
  operations: () => Promise<ScheduleOperations>;
  /** World state as players' messages read it now (Redis); only `world` connects to it. */
  world: () => Promise<WorldState>;
  /** Reward batches (Temporal; Redis for a dry run's count): `grant`, `progress`, `batches`. */
  batches: () => Promise<BatchOperations>;
  /**
   * What `plan`, `list` and `describe` need to show each calendar event's announcement: the
   * players it would reach now (Redis registry), the configured notification rate, and each
   * event's schedule id and length. Absent: no announcement lines.
   */
  announcements?: () => Promise<AnnouncementAudience>;
  /** The terminal `progress` draws its bar on; absent (stdout is not one): a line every 5 s. */
  progressBarStream?: NodeJS.WritableStream;
  /** Tests shorten it; default PROGRESS_LINE_INTERVAL_MS. */
  progressLineIntervalMs?: number;
  /** Starts the Redis backfill or attaches to the one running (`backfill-redis`). */
  redisBackfill: () => Promise<RedisBackfillRun>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Unexpected failures go here with their stack (on stderr); expected ones are one line. */
  logger: Logger;
  /** Shown in --help: where the commands act, e.g. "Temporal at 127.0.0.1:7233, namespace default". */
  target?: string;
}

export interface AnnouncementAudience {
  players: number;
  perSecond: number;
  events: { scheduleId: string; durationMs: number }[];
}

/** Telegram's overall limit for one bot: the fastest any announcement can go. */
const TELEGRAM_PER_SECOND = 30;

/**
 * "announcement to 1,000,000 players ≈ 13h 53m at 20/s, 9h 16m at 30/s", and a warning when even
 * that is longer than the event: the batch stops at the event's end, so the rest are not told.
 */
export function announcementLine(players: number, perSecond: number, durationMs: number): string {
  const at = (rate: number) => roughDuration((players / rate) * 1000);
  const estimate = `announcement to ${players.toLocaleString('en-US')} players ≈ ${at(perSecond)} at ${perSecond}/s, ${at(TELEGRAM_PER_SECOND)} at ${TELEGRAM_PER_SECOND}/s`;
  const reached = Math.floor((durationMs / 1000) * perSecond);
  return (players / perSecond) * 1000 > durationMs
    ? `${estimate}; WARNING: longer than the event (${roughDuration(durationMs)}): only about ${reached.toLocaleString('en-US')} players are told before it ends`
    : estimate;
}

/** "9h 16m", "4m 10s", "33s": an estimate, to the minute past an hour. */
function roughDuration(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

async function announcementLines(deps: SchedulesCliDeps, scheduleIds?: string[]) {
  if (!deps.announcements) return [];
  const { players, perSecond, events } = await deps.announcements();
  return events
    .filter((event) => !scheduleIds || scheduleIds.includes(event.scheduleId))
    .map(
      (event) => `${event.scheduleId}: ${announcementLine(players, perSecond, event.durationMs)}`,
    );
}

/** Runs one command line (without node and the script) and returns its exit status. */
export async function runSchedulesCli(argv: string[], deps: SchedulesCliDeps): Promise<number> {
  const line = (text = '') => deps.stdout(`${text}\n`);
  let operations: Promise<ScheduleOperations> | undefined;
  const ops = () => (operations ??= deps.operations());
  const program = buildProgram(ops, line, deps);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const { status, message } = explainFailure(err);
    if (status === undefined) deps.logger.error({ err }, 'schedules command failed');
    deps.stderr(`schedules: ${message}\n`);
    return status ?? EXIT.failed;
  }
}

/** The exit status and the one line an error deserves; no status: unexpected (logged in full). */
function explainFailure(err: unknown): { status?: number; message: string } {
  if (
    err instanceof ScheduleRequestError ||
    err instanceof ScheduleDefinitionError ||
    err instanceof BatchRequestError
  )
    return { status: EXIT.usage, message: err.message };
  if (
    err instanceof ScheduleNotFoundError ||
    err instanceof BatchNotFoundError ||
    err instanceof BatchAlreadyRanError ||
    err instanceof BatchIncomplete ||
    err instanceof ScheduleConflictError ||
    err instanceof TemporalUnreachableError ||
    err instanceof RedisBackfillIncompleteError ||
    err instanceof RedisUnavailableError
  )
    return { status: EXIT.failed, message: err.message };
  const grpc = grpcCause(err);
  if (Number(grpc?.code) === GRPC_UNAVAILABLE)
    return { status: EXIT.failed, message: `Temporal is unreachable: ${grpc?.details}` };
  if (Number(grpc?.code) === GRPC_DEADLINE_EXCEEDED)
    return { status: EXIT.failed, message: 'Temporal did not answer in time; try again.' };
  return { message: err instanceof Error ? err.message : String(err) };
}

function grpcCause(err: unknown) {
  for (let at: unknown = err; at; at = (at as { cause?: unknown }).cause) {
    if (isGrpcServiceError(at)) return at;
  }
  return undefined;
}

function buildProgram(
  ops: () => Promise<ScheduleOperations>,
  line: (text?: string) => void,
  deps: SchedulesCliDeps,
): Command {
  const program = new Command('npm run schedules --')
    .description(
      'Farmflow schedules as code: compare the definitions in schedules/ with Temporal, apply them, and operate the schedules farmflow owns.',
    )
    .exitOverride()
    .configureOutput({
      writeOut: deps.stdout,
      writeErr: deps.stderr,
      outputError: (text, write) =>
        write(`schedules: ${text.replace(/^error: /, '').trim()} (see --help)\n`),
    })
    .helpCommand(false)
    .addHelpText(
      'after',
      [
        '',
        `Acts on: ${deps.target ?? 'the Temporal of TEMPORAL_ADDRESS'}.`,
        'Environment:',
        "  TEMPORAL_ADDRESS    host:port; unset: npm start's local dev server (127.0.0.1:TEMPORAL_DEV_PORT)",
        '  TEMPORAL_NAMESPACE  default: default',
        "  GAME_TIME_SCALE     the game's time scale, which the definitions are built with;",
        "                      default 1, or npm start's 0.01 when TEMPORAL_ADDRESS is unset",
        '  LOG_LEVEL           logs go to stderr; default warn',
        'Exit status: 0 done, 1 the operation failed, 2 a usage error or invalid definitions.',
      ].join('\n'),
    );

  program
    .command('plan')
    .description(
      'Show what apply would change: one line per schedule (create, update, delete or unchanged) with the fields that differ, then a summary line.',
    )
    .option('--json', 'print the plan as JSON')
    .action(async (options: { json?: boolean }) => {
      const plan = await (await ops()).plan();
      if (options.json) line(JSON.stringify(plan, null, 2));
      else {
        // The summary stays the last line.
        const lines = formatPlan(plan);
        const announcements = (await announcementLines(deps)).map((text) => `  ${text}`);
        for (const text of [...lines.slice(0, -1), ...announcements, ...lines.slice(-1)])
          line(text);
      }
    });

  program
    .command('apply')
    .description(
      'Make Temporal match the definitions: create the missing schedules, update the changed ones (a pause made at run time stays), delete owned schedules no longer defined.',
    )
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      const result = await (await ops()).apply();
      if (options.json) line(JSON.stringify(result, null, 2));
      else for (const text of formatApply(result)) line(text);
    });

  program
    .command('list')
    .description('List the schedules farmflow owns, with their next run times and recent runs.')
    .option('--json', 'print the list as JSON')
    .action(async (options: { json?: boolean }) => {
      const schedules = await (await ops()).list();
      if (options.json) line(JSON.stringify(schedules, null, 2));
      else {
        const ids = schedules.map((schedule) => schedule.id);
        for (const text of [...formatList(schedules), ...(await announcementLines(deps, ids))])
          line(text);
      }
    });

  program
    .command('describe')
    .description('Show one owned schedule in full.')
    .argument('<id>', 'schedule id, e.g. farmflow-event-harvest-fair')
    .option('--json', 'print it as JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const details = await (await ops()).describe(id);
      if (options.json) line(JSON.stringify(details, null, 2));
      else {
        const announcement = (await announcementLines(deps, [id])).map((text) =>
          text.replace(`${id}: `, 'announcement: '),
        );
        for (const text of [...formatDetails(details), ...announcement]) line(text);
      }
    });

  program
    .command('pause')
    .description('Pause a schedule: no run starts until someone unpauses it. apply never unpauses.')
    .argument('<id>', 'schedule id')
    .requiredOption('--note <text>', 'why, for the next person (required)')
    .action(async (id: string, options: { note: string }) => {
      await (await ops()).pause(id, options.note);
      line(`paused ${id}: ${options.note.trim()}`);
    });

  program
    .command('unpause')
    .description('Unpause a schedule: its runs start again at their times.')
    .argument('<id>', 'schedule id')
    .requiredOption('--note <text>', 'why, for the next person (required)')
    .action(async (id: string, options: { note: string }) => {
      await (await ops()).unpause(id, options.note);
      line(`unpaused ${id}: ${options.note.trim()}`);
    });

  program
    .command('trigger')
    .description(
      'Run a schedule now, under its overlap policy (a run due while one runs may be skipped).',
    )
    .argument('<id>', 'schedule id')
    .action(async (id: string) => {
      await (await ops()).trigger(id);
      line(`triggered ${id}`);
    });

  program
    .command('backfill')
    .description(
      'Start the runs a schedule would have started in a past time range, under its overlap policy.',
    )
    .argument('<id>', 'schedule id')
    .requiredOption(
      '--from <time>',
      'start, an ISO time with its zone (2026-11-20T17:00:00Z)',
      isoTime,
    )
    .requiredOption('--to <time>', 'end, an ISO time with its zone, not in the future', isoTime)
    .action(async (id: string, options: { from: Date; to: Date }) => {
      await (await ops()).backfill(id, { start: options.from, end: options.to });
      line(`backfilled ${id} from ${options.from.toISOString()} to ${options.to.toISOString()}`);
    });

  program
    .command('backfill-redis')
    .description(
      "Rebuild Redis's copy of the players (registry, leaderboard, preferences) from the running farms, or attach to the rebuild running; shows its progress until it ends (exit 1 if some farms could not be copied).",
    )
    .action(async () => {
      const whole = await followRedisBackfill(await deps.redisBackfill(), {
        write: deps.stdout,
        ...(deps.progressBarStream ? { barStream: deps.progressBarStream } : {}),
        ...(deps.progressLineIntervalMs ? { lineIntervalMs: deps.progressLineIntervalMs } : {}),
      });
      if (!whole) throw new RedisBackfillIncompleteError();
    });

  program
    .command('world')
    .description(
      "Show world state as players' messages read it now: the market's prices and the events running (reads Redis).",
    )
    .option('--json', 'print it as JSON')
    .action(async (options: { json?: boolean }) => {
      const world = await deps.world();
      if (options.json) line(JSON.stringify(world, null, 2));
      else for (const text of formatWorld(world)) line(text);
    });

  program
    .command('grant')
    .description(
      'Pay coins (and XP) to every player, or to those who joined before a date, exactly once: a batch named by --id. Starting a running id attaches to it; an id that has run is refused.',
    )
    .requiredOption('--id <batch>', 'what is paid for, e.g. outage-2026-11-20 (never reused)')
    .requiredOption('--coins <n>', 'coins per player', wholeNumber)
    .option('--xp <n>', 'XP per player', wholeNumber, 0)
    .requiredOption('--reason <text>', 'why, kept in each farm’s log')
    .option('--message <text>', 'told to each player (unless they turned notifications off)')
    .option('--all', 'every registered player')
    .option('--joined-before <time>', 'players who joined before this time', isoTime)
    .option('--dry-run', 'print how many players and what it would pay in all; start nothing')
    .option('--page-size <n>', 'players per page (1-1000)', wholeNumber)
    .option('--parallelism <n>', 'signals in flight at once (1-64)', wholeNumber)
    .option('--json', 'print the answer as JSON')
    .action(async (options: GrantOptions) => {
      if (Boolean(options.all) === Boolean(options.joinedBefore))
        throw new BatchRequestError('give exactly one of --all and --joined-before <time>');
      const request: GrantRequest = {
        batchId: options.id,
        coins: options.coins,
        xp: options.xp,
        reason: options.reason,
        ...(options.message !== undefined ? { message: options.message } : {}),
        population: options.joinedBefore
          ? { kind: 'joinedBefore', beforeMs: options.joinedBefore.getTime() }
          : { kind: 'all' },
        ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
        ...(options.parallelism !== undefined ? { parallelism: options.parallelism } : {}),
      };
      const batches = await deps.batches();
      if (options.dryRun) {
        const preview = await batches.preview(request);
        if (options.json) return line(JSON.stringify(preview, null, 2));
        line(
          `dry run: batch ${preview.batchId} would pay ${preview.players} players ${preview.coins} coins and ${preview.xp} XP in all; nothing started`,
        );
        if (!preview.registryWhole)
          line(
            "warning: Redis's copy of the players is partial (no backfill since a loss): the count may be low; the batch itself waits for the backfill",
          );
        return;
      }
      const started = await batches.start(request);
      if (options.json) return line(JSON.stringify(started, null, 2));
      line(
        started.status === 'started'
          ? `started batch ${started.batchId} (workflow ${started.workflowId})`
          : `attached to batch ${started.batchId}, already running (workflow ${started.workflowId}); its own amounts apply`,
      );
      line(`follow it: npm run schedules -- progress ${started.batchId}`);
    });

  program
    .command('progress')
    .description(
      'Follow a batch (or the Redis backfill, by its workflow id) until it ends: a live bar in a terminal, a line every 5 s otherwise. Exit 0 when done, 1 when incomplete.',
    )
    .argument('<id>', 'batch id (or a workflow id that answers the progress query)')
    .option('--json', 'print the final progress as JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const batches = await deps.batches();
      const last: BatchProgress = await watchProgress({
        read: () => batches.progress(id),
        write: deps.stdout,
        ...(deps.progressBarStream ? { barStream: deps.progressBarStream } : {}),
        ...(deps.progressLineIntervalMs ? { lineIntervalMs: deps.progressLineIntervalMs } : {}),
      });
      if (options.json) line(JSON.stringify(last, null, 2));
      if (last.state === 'incomplete') throw new BatchIncomplete(id, last);
    });

  program
    .command('batches')
    .description('List reward batches, newest first: id, status, when, what they pay.')
    .option('--json', 'print the list as JSON')
    .action(async (options: { json?: boolean }) => {
      const list = await (await deps.batches()).list();
      if (options.json) line(JSON.stringify(list, null, 2));
      else for (const text of formatBatches(list)) line(text);
    });

  program
    .command('delete')
    .description('Delete a schedule farmflow owns. One still defined comes back at the next apply.')
    .argument('<id>', 'schedule id')
    .action(async (id: string) => {
      const operations = await ops();
      const { defined } = await operations.describe(id);
      await operations.delete(id);
      line(`deleted ${id}${defined ? ' (still defined: the next apply creates it again)' : ''}`);
    });

  return program;
}

interface GrantOptions {
  id: string;
  coins: number;
  xp: number;
  reason: string;
  message?: string;
  all?: boolean;
  joinedBefore?: Date;
  dryRun?: boolean;
  pageSize?: number;
  parallelism?: number;
  json?: boolean;
}

/** A batch that ended incomplete: `progress` exits 1 with its last line. */
class BatchIncomplete extends Error {
  override name = 'BatchIncomplete';
  constructor(id: string, progress: BatchProgress) {
    super(`batch ${id} ended incomplete: ${progressLine(progress)}`);
  }
}

function wholeNumber(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError('not a whole number');
  return n;
}

const ISO_TIME =
  /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/** A date (midnight UTC) or a date and time with its zone: never a time read in the local zone. */
function isoTime(text: string): Date {
  const date = new Date(text);
  if (!ISO_TIME.test(text) || Number.isNaN(date.getTime()))
    throw new InvalidArgumentError(
      'not an ISO time with its zone, e.g. 2026-11-20T17:00:00Z or 2026-11-20',
    );
  return date;
}

// ---------------------------------------------------------------- output

/** World state for a person: each crop's unit price now, and the events running. */
export function formatWorld(world: WorldState): string[] {
  const market = world.market;
  const lines = [market ? `market: tick ${market.tick}` : 'market: no tick yet (neutral prices)'];
  for (const cropId of CROP_IDS) {
    const crop = CROPS[cropId];
    const factor = market?.factors[cropId] ?? 1;
    lines.push(
      `  ${crop.emoji} ${crop.id.padEnd(10)} ${sellPrice(cropId, world)} 🪙 (market ×${factor})`,
    );
  }
  const events = world.events ?? [];
  if (events.length === 0) lines.push('events: none running');
  for (const event of events) {
    const crops = CROP_IDS.filter((id) => eventAppliesTo(event, id));
    const what = crops.length === CROP_IDS.length ? 'every crop' : crops.join(', ');
    lines.push(
      `event: ${event.name} (${event.id}): sale prices ×${event.effect.saleMultiplier} on ${what}, until ${new Date(event.endsAtMs).toISOString()}`,
    );
  }
  return lines;
}

/** The plan as `plan` prints it; the last line is the summary. */
export function formatPlan(plan: Plan): string[] {
  const lines: string[] = [];
  // One line per schedule: what happens to it, then the fields that differ and a runtime pause.
  for (const entry of plan.entries) {
    const details = entry.changes.map((change) => {
      const value =
        change.from === null
          ? change.to
          : change.to === null
            ? change.from
            : `${change.from} → ${change.to}`;
      return `${change.field}: ${value}`;
    });
    if (entry.paused) details.push(`paused: ${entry.paused.note}`);
    lines.push([`${entry.action} ${entry.id}`, details.join('; ')].filter(Boolean).join('  '));
  }
  const { create, update, delete: remove, unchanged } = plan.counts;
  lines.push(
    `plan: ${create} to create, ${update} to update, ${remove} to delete, ${unchanged} unchanged`,
  );
  return lines;
}

export function formatApply(result: ApplyResult): string[] {
  return [
    ...result.created.map((id) => `created ${id}`),
    ...result.updated.map((id) => `updated ${id}`),
    ...result.deleted.map((id) => `deleted ${id}`),
    `apply: ${result.created.length} created, ${result.updated.length} updated, ${result.deleted.length} deleted, ${result.unchanged.length} unchanged`,
  ];
}

/** How many next and recent runs `list` shows of each schedule. */
const LIST_RUNS = 3;

export function formatList(schedules: ScheduleSummary[]): string[] {
  if (schedules.length === 0) return ['No schedules owned by farmflow (run apply to create them).'];
  const lines: string[] = [];
  for (const schedule of schedules) {
    lines.push(`${schedule.id}  ${stateText(schedule)}`);
    lines.push(`  ${schedule.description}`);
    lines.push(`  next: ${schedule.nextRunTimes.slice(0, LIST_RUNS).join(', ') || 'none'}`);
    const recent = schedule.recentRuns.slice(-LIST_RUNS).reverse();
    lines.push(`  recent: ${recent.length > 0 ? '' : 'none'}`.trimEnd());
    for (const run of recent) lines.push(`    ${run.startedAt}  ${run.workflowId}`);
  }
  return lines;
}

export function formatDetails(details: ScheduleDetails): string[] {
  const recent = details.recentRuns.slice().reverse();
  return [
    `id:           ${details.id}`,
    `description:  ${details.description}`,
    `state:        ${stateText(details)}`,
    `spec:         ${details.spec}`,
    `overlap:      ${details.overlap}`,
    `catch-up:     ${formatDuration(details.catchupWindowMs)}`,
    `workflow:     ${details.workflowType} on task queue ${details.taskQueue}`,
    `args:         ${JSON.stringify(details.args)}`,
    `created:      ${details.createdAt}`,
    `defined:      ${details.defined ? 'yes' : 'no (the next apply deletes it)'}`,
    `next runs:    ${details.nextRunTimes.join(', ') || 'none'}`,
    `recent runs:  ${recent.length > 0 ? '' : 'none'}`.trimEnd(),
    ...recent.map(
      (run) =>
        `  ${run.startedAt}  ${run.workflowId}  (scheduled ${run.scheduledAt}, run ${run.runId})`,
    ),
  ];
}

/** One line per batch: id, status, start (and end), what it pays and to whom. */
export function formatBatches(batches: BatchSummary[]): string[] {
  if (batches.length === 0) return ['No batches.'];
  return batches.map((batch) => {
    const when = `started ${batch.startedAt}${batch.closedAt ? `, closed ${batch.closedAt}` : ''}`;
    return [
      batch.batchId,
      batch.status.toLowerCase(),
      when,
      batch.memo ? describeMemo(batch.memo) : '',
    ]
      .filter(Boolean)
      .join('  ');
  });
}

function describeMemo({ population, payload }: NonNullable<BatchSummary['memo']>): string {
  const who =
    population.kind === 'all'
      ? 'every player'
      : population.kind === 'joinedBefore'
        ? `players who joined before ${new Date(population.beforeMs).toISOString()}`
        : `the top ${population.prizes.length} (${population.prizes.map((p) => p.coins).join('/')} coins)`;
  if (payload.kind === 'notice') return `notice "${payload.content.name}" to ${who}`;
  const amounts =
    population.kind === 'top' ? 'prizes' : `${payload.coins} coins and ${payload.xp} XP each`;
  return `${amounts} to ${who}: ${payload.reason}`;
}

function stateText(schedule: Pick<ScheduleSummary, 'paused' | 'note'>): string {
  return schedule.paused ? `paused: ${schedule.note || '(no note)'}` : 'active';
}
