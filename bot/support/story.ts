/**
 * A player's story from their support code, for the support CLI, API and console: the farm as it
 * is now, a timeline of what the player did and got (newest first, a page at a time), every
 * workflow of theirs with a link into the Temporal Web UI, and their failures.
 *
 * Temporal is the source: visibility by `UserHash` lists the player's workflows, each message's
 * history gives its intent and its result or refusal, and the farm answers its state and its own
 * log of grants and notifications. Redis's registry adds only what Temporal lacks (the player's
 * number in the join order, whether it counts them reachable), labelled as a copy; a missing entry
 * is shown, never an error.
 *
 * No answer carries a raw Telegram id: the farm never holds one, and of a workflow's input only
 * the action is read (its sealed chat id and the sender's name are left in the history).
 */
import { type Client, type WorkflowExecutionInfo, WorkflowNotFoundError } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import pLimit from 'p-limit';
import {
  CROPS,
  type ActionEvent,
  type CropId,
  type FarmAction,
  isCropId,
  isReady,
  levelForXp,
  plotNumber,
  preferencesOf,
} from '../../game';
import { isUserHash } from '../../infra/identity';
import { createPlayerRegistry } from '../../store/players';
import type { RedisClient } from '../../store/redis';
import {
  farmWorkflowId,
  type FarmLogEntry,
  type FarmSnapshot,
  getFarmLogQuery,
  getFarmQuery,
  type MainMenuScreen,
  SUPPORT_GRANT_MEMO,
  type FarmReportInput,
  type FarmReportResult,
  type ReportDelivery,
  type SupportGrantInput,
  type SupportGrantResult,
  USER_HASH_SEARCH_ATTRIBUTE,
  WORKFLOW_TYPES,
} from '../../workflows/contract';

export const DEFAULT_TIMELINE_LIMIT = 50;
export const MAX_TIMELINE_LIMIT = 500;
/** The newest failed, timed-out or terminated workflows shown whatever the page. */
const FAILURES_SHOWN = 20;
/** The farm's newest runs shown (a farm continues as new every couple of thousand events). */
const FARM_RUNS_SHOWN = 5;
/** Message histories read at once. */
const HISTORY_READS_IN_FLIGHT = 16;
/** The whole story's bound (every Temporal call within it). */
export const STORY_TIMEOUT_MS = 10_000;
/** A farm that does not answer within this is shown as not answering, not waited for. */
const FARM_QUERY_TIMEOUT_MS = 3_000;

/** What became of a report's picture, as the timeline says it. */
const REPORT_DELIVERY: Record<ReportDelivery, string> = {
  replaced: 'the picture replaced its message',
  'message gone': 'kept; its message was gone from the chat',
  blocked: 'kept; the player had blocked the bot',
  none: 'kept for the API',
};

/** A code as a person may paste or read it out: spaces around it and capitals do not matter. */
export const normalizeSupportCode = (text: string) => text.trim().toLowerCase();

/** A support code that is not one: 16 characters of a-z and 2-7. */
export class MalformedSupportCodeError extends Error {
  override name = 'MalformedSupportCodeError';
  constructor() {
    super('a support code is 16 characters of a-z and 2-7 (the player finds theirs under /help)');
  }
}

/** A well-formed code that Temporal knows nothing of: no farm and no workflow. */
export class UnknownPlayerError extends Error {
  override name = 'UnknownPlayerError';
  constructor(userHash: string) {
    super(`no player has the support code ${userHash}: no farm and no workflow carries it`);
  }
}

export class StoryRequestError extends Error {
  override name = 'StoryRequestError';
}

/** RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, CONTINUED_AS_NEW, TIMED_OUT, … */
export type WorkflowStatus = WorkflowExecutionInfo['status']['name'];

export interface WorkflowRow {
  /** The Temporal workflow type, e.g. GameFarmWorkflow, MainMenuMessageWorkflow. */
  type: string;
  id: string;
  runId: string;
  status: WorkflowStatus;
  startTime: string;
  closeTime: string | null;
  /** Failed, timed out or terminated. */
  failed: boolean;
  /** This run in the Temporal Web UI. */
  link: string;
}

export type TimelineKind =
  'message' | 'grant' | 'compensation' | 'notification' | 'event' | 'farm' | 'workflow';

export interface TimelineEntry {
  time: string;
  kind: TimelineKind;
  summary: string;
  /** temporal: a workflow of the player; farm: the farm's own state and log. */
  source: 'temporal' | 'farm';
  failed?: true;
  workflowId?: string;
  runId?: string;
  batchId?: string;
  /** A compensation: the support token's name. */
  by?: string;
}

export interface FarmView {
  createdAt: string;
  asOf: string;
  coins: number;
  xp: number;
  level: number;
  plots: { plot: number; crop: string | null; readyAt: string | null; ready: boolean }[];
  inventory: Record<string, number>;
  preferences: { notifications: boolean; showName: boolean };
  /** The name the farm keeps (the player's Telegram first name), null when hidden or unknown. */
  displayName: string | null;
  /** False after Telegram said the player blocked the bot. */
  reachable: boolean | null;
}

export interface RegistryView {
  /** Labelled: Redis holds a rebuildable copy, Temporal the truth. */
  source: 'registry (Redis copy)';
  entry: {
    joinedAt: string;
    farmerNumber: number | null;
    notifications: boolean;
    reachable: boolean;
    displayName: string | null;
  } | null;
  /** Why there is no entry, or why it could not be read. */
  note?: string;
}

export interface PlayerStory {
  userHash: string;
  generatedAt: string;
  farm: FarmView | null;
  /** Why `farm` is null: no farm runs, or it did not answer. */
  farmNote?: string;
  registry: RegistryView;
  /** Every workflow of the player in the Temporal Web UI (filtered by the code). */
  temporalUi: string;
  /** Every workflow carrying the code, all types and runs. */
  workflowTotal: number;
  /** The farm's newest runs, then the workflows of this timeline page, newest first. */
  workflows: WorkflowRow[];
  /** The newest failed, timed-out or terminated workflows, whatever the page. */
  failures: WorkflowRow[];
  timeline: TimelineEntry[];
  /** Pass as `before` for the next page; null on the last one. */
  nextBefore: string | null;
}

export interface StoryOptions {
  limit?: number;
  /** Only what happened before this time. */
  before?: Date;
}

export interface StoryDeps {
  client: Client;
  namespace: string;
  /** Where the Temporal Web UI is, e.g. http://127.0.0.1:8233. */
  temporalUiUrl: string;
  /** Null: Redis is not configured for this reader; the registry is shown as unread. */
  redis: { redis: RedisClient; keyPrefix: string } | null;
  timeoutMs?: number;
}

type HistoryEvent = NonNullable<
  NonNullable<
    Awaited<ReturnType<Client['workflowService']['getWorkflowExecutionHistory']>>['history']
  >['events']
>[number];

const FAILED_STATUSES = new Set<WorkflowStatus>(['FAILED', 'TIMED_OUT', 'TERMINATED']);

export function createStoryReader(deps: StoryDeps) {
  const { client, namespace } = deps;
  const ui = deps.temporalUiUrl.replace(/\/+$/, '');
  const ns = encodeURIComponent(namespace);
  const converter = client.options.loadedDataConverter;
  const codeQuery = (userHash: string) => `${USER_HASH_SEARCH_ATTRIBUTE.name} = '${userHash}'`;

  const row = (info: WorkflowExecutionInfo): WorkflowRow => {
    const status = info.status.name;
    return {
      type: info.type,
      id: info.workflowId,
      runId: info.runId,
      status,
      startTime: info.startTime.toISOString(),
      closeTime: info.closeTime?.toISOString() ?? null,
      failed: FAILED_STATUSES.has(status),
      link: `${ui}/namespaces/${ns}/workflows/${encodeURIComponent(info.workflowId)}/${info.runId}/history`,
    };
  };

  /** Up to `limit` workflows of the query, as visibility orders them (newest first). */
  const list = async (query: string, limit: number) => {
    const found: WorkflowExecutionInfo[] = [];
    if (limit <= 0) return found;
    for await (const info of client.workflow.list({ query, pageSize: limit })) {
      found.push(info);
      if (found.length >= limit) break;
    }
    return found;
  };

  const bounded = <T>(ms: number, call: () => Promise<T>) =>
    client.withDeadline(Date.now() + ms, call);

  /** The farm and its log; a farm that is gone or silent is a note, not an error. */
  const readFarm = async (userHash: string) => {
    const handle = client.workflow.getHandle(farmWorkflowId(userHash));
    try {
      const [snapshot, log] = await bounded(FARM_QUERY_TIMEOUT_MS, () =>
        Promise.all([handle.query(getFarmQuery), handle.query(getFarmLogQuery)]),
      );
      return { snapshot, log, note: undefined };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        return { snapshot: null, log: [], note: 'no farm runs under this support code' };
      }
      const reason = err instanceof Error ? err.message : String(err);
      return {
        snapshot: null,
        log: [],
        note: `the farm did not answer within ${FARM_QUERY_TIMEOUT_MS / 1000} s (is a game worker running?): ${reason}`,
      };
    }
  };

  const readRegistry = async (userHash: string): Promise<RegistryView> => {
    const source = 'registry (Redis copy)' as const;
    if (!deps.redis) return { source, entry: null, note: 'not read: no Redis configured' };
    try {
      const registry = createPlayerRegistry(deps.redis.redis, deps.redis.keyPrefix);
      const [record, farmerNumber] = await Promise.all([
        registry.get(userHash),
        registry.farmerNumber(userHash),
      ]);
      if (!record) {
        return {
          source,
          entry: null,
          note: 'no registry entry: the farm has not registered yet, or Redis lost it (the backfill rebuilds it from the farms)',
        };
      }
      return {
        source,
        entry: {
          joinedAt: new Date(record.joinedAtMs).toISOString(),
          farmerNumber,
          notifications: record.notifications,
          reachable: record.active,
          displayName: record.displayName,
        },
      };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return { source, entry: null, note: `Redis could not be read: ${reason}` };
    }
  };

  /** A workflow's input and how it ended, from its history (a message's is a dozen events). */
  const readHistory = async (info: WorkflowExecutionInfo) => {
    const { history } = await client.workflowService.getWorkflowExecutionHistory({
      namespace,
      execution: { workflowId: info.workflowId, runId: info.runId },
      maximumPageSize: 1000,
    });
    const events = history?.events ?? [];
    const started = events[0]?.workflowExecutionStartedEventAttributes;
    const input = await decodeFromPayloadsAtIndex<unknown>(converter, 0, started?.input?.payloads);
    const last = events.at(-1);
    let result: unknown;
    let failure: string | undefined;
    if (last?.workflowExecutionCompletedEventAttributes) {
      result = await decodeFromPayloadsAtIndex<unknown>(
        converter,
        0,
        last.workflowExecutionCompletedEventAttributes.result?.payloads,
      );
    } else {
      failure = closeFailure(last);
    }
    return { input, result, failure };
  };

  const messageEntry = async (info: WorkflowExecutionInfo): Promise<TimelineEntry> => {
    const base = {
      // When it was answered (when it started, while it runs).
      time: (info.closeTime ?? info.startTime).toISOString(),
      source: 'temporal' as const,
      workflowId: info.workflowId,
      runId: info.runId,
    };
    const status = info.status.name;
    const failedStatus = FAILED_STATUSES.has(status);
    let details: Awaited<ReturnType<typeof readHistory>>;
    try {
      details = await readHistory(info);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return {
        ...base,
        kind: 'workflow',
        summary: `${info.type} ${status.toLowerCase()} (its history could not be read: ${reason})`,
        ...(failedStatus ? { failed: true as const } : {}),
      };
    }
    const outcome = (text: string) =>
      status === 'RUNNING'
        ? `${text}: in progress`
        : details.failure !== undefined
          ? `${text}: ${status.toLowerCase()}: ${details.failure}`
          : text;
    const failed = failedStatus || details.failure !== undefined ? { failed: true as const } : {};

    switch (info.type) {
      case WORKFLOW_TYPES.mainMenuMessage: {
        const action = (details.input as { action?: FarmAction } | undefined)?.action;
        const intent = describeAction(action);
        const screen = details.result as MainMenuScreen | undefined;
        const during = eventsDuring(screen);
        const text =
          screen?.kind === 'actionDone'
            ? `${intent}: ${describeEvent(screen.event)}`
            : screen?.kind === 'actionRefused'
              ? `${intent}: refused: ${screen.reason}`
              : intent;
        return { ...base, kind: 'message', summary: outcome(text) + during, ...failed };
      }
      case WORKFLOW_TYPES.mainMenuQuery:
        return {
          ...base,
          kind: 'message',
          summary: outcome('opened the farm') + eventsDuring(details.result as MainMenuScreen),
          ...failed,
        };
      case WORKFLOW_TYPES.supportGrant: {
        const grant = (info.memo?.[SUPPORT_GRANT_MEMO] ?? details.input) as
          Partial<SupportGrantInput> | undefined;
        const result = details.result as SupportGrantResult | undefined;
        const text = `compensation of ${grant?.coins ?? '?'} coins by ${grant?.by ?? '?'}: ${grant?.reason ?? ''}`;
        return {
          ...base,
          kind: 'compensation',
          summary: outcome(
            result?.outcome === 'no farm' ? `${text} (not paid: no farm ran)` : text,
          ),
          ...(grant?.by !== undefined ? { by: grant.by } : {}),
          ...(result?.outcome === 'no farm' ? { failed: true as const } : failed),
        };
      }
      case WORKFLOW_TYPES.farmReport: {
        const asked = (details.input as Partial<FarmReportInput> | undefined)?.telegram
          ? 'asked for a farm report in the chat'
          : 'a farm report over the API';
        const result = details.result as FarmReportResult | undefined;
        const made = result
          ? `: ${REPORT_DELIVERY[result.telegram]} (${Math.round(result.bytes / 1024)} KB)` +
            (result.attempts > 1
              ? `, drawn ${result.attempts} times: a report worker was lost`
              : '')
          : '';
        return { ...base, kind: 'message', summary: outcome(asked + made), ...failed };
      }
      default:
        return {
          ...base,
          kind: 'workflow',
          summary: outcome(`${info.type} ${status.toLowerCase()}`),
          ...failed,
        };
    }
  };

  return {
    async read(supportCode: string, options: StoryOptions = {}): Promise<PlayerStory> {
      const userHash = normalizeSupportCode(supportCode);
      if (!isUserHash(userHash)) throw new MalformedSupportCodeError();
      const limit = options.limit ?? DEFAULT_TIMELINE_LIMIT;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TIMELINE_LIMIT) {
        throw new StoryRequestError(`limit must be a whole number from 1 to ${MAX_TIMELINE_LIMIT}`);
      }
      const before = options.before;
      if (before !== undefined && Number.isNaN(before.getTime())) {
        throw new StoryRequestError('before must be a time, e.g. 2026-11-30T08:00:00.000Z');
      }
      const beforeMs = before?.getTime() ?? Infinity;
      const startedAtMs = Date.now();
      const code = codeQuery(userHash);
      return bounded(deps.timeoutMs ?? STORY_TIMEOUT_MS, async () => {
        // Visibility lists a player's workflows newest first by close time (running ones first),
        // so pages are cut by close time: a message's time is when it was answered.
        const messages = `${code} AND WorkflowType != '${WORKFLOW_TYPES.gameFarm}'`;
        const closedBefore = (ms: number) => ` AND CloseTime < '${new Date(ms).toISOString()}'`;
        const [total, page, failures, farmRuns, farm, registry] = await Promise.all([
          client.workflow.count(code).then((c) => c.count),
          list(`${messages}${before ? closedBefore(beforeMs) : ''}`, limit),
          list(
            `${code} AND ExecutionStatus IN ('Failed', 'TimedOut', 'Terminated')`,
            FAILURES_SHOWN,
          ),
          list(`WorkflowId = '${farmWorkflowId(userHash)}'`, FARM_RUNS_SHOWN),
          readFarm(userHash),
          readRegistry(userHash),
        ]);
        if (total === 0 && farm.snapshot === null && farmRuns.length === 0) {
          throw new UnknownPlayerError(userHash);
        }
        // A full page leaves older workflows unlisted: nothing older than its oldest may be shown
        // (it could stand between them), and the ones answered in that same millisecond are
        // listed too, so the next page, before that millisecond, misses none. A full page of
        // workflows still running shows only them; the next page starts with the answered ones.
        const full = page.length === limit;
        const closes = page.flatMap((info) => (info.closeTime ? [info.closeTime.getTime()] : []));
        const floorMs = !full ? -Infinity : closes.length > 0 ? Math.min(...closes) : Infinity;
        if (Number.isFinite(floorMs)) {
          const known = new Set(page.map((info) => info.runId));
          const sameMs = await list(
            `${messages} AND CloseTime >= '${new Date(floorMs).toISOString()}'${closedBefore(floorMs + 1)}`,
            MAX_TIMELINE_LIMIT,
          );
          page.push(...sameMs.filter((info) => !known.has(info.runId)));
        }
        const inFlight = pLimit(HISTORY_READS_IN_FLIGHT);
        const keyed = await Promise.all(
          page.map((info) =>
            inFlight(async () => ({
              entry: await messageEntry(info),
              // In progress: on top.
              at: info.closeTime?.getTime() ?? Infinity,
            })),
          ),
        );
        const farmEntries = farmLogEntries(farm.log);
        if (farm.snapshot) {
          farmEntries.push({
            time: new Date(farm.snapshot.farm.createdAtMs).toISOString(),
            kind: 'farm',
            summary: 'farm created',
            source: 'farm',
          });
        }
        for (const entry of farmEntries) keyed.push({ entry, at: Date.parse(entry.time) });
        const candidates = keyed
          // Running ones (at Infinity) only on the first page: they are the newest.
          .filter(({ at }) => (before === undefined || at < beforeMs) && at >= floorMs)
          .sort((a, b) => b.at - a.at);
        // Cut after `limit` entries, but never inside one millisecond.
        let cut = Math.min(limit, candidates.length);
        while (
          cut > 0 &&
          cut < candidates.length &&
          candidates[cut]!.at === candidates[cut - 1]!.at
        ) {
          cut += 1;
        }
        const shown = candidates.slice(0, cut);
        const timeline = shown.map(({ entry }) => entry);
        const lastAt = shown.at(-1)?.at;
        const more = cut < candidates.length || full;
        const shownRuns = new Set(shown.flatMap(({ entry }) => entry.runId ?? []));
        return {
          userHash,
          generatedAt: new Date().toISOString(),
          farm: farm.snapshot ? farmView(farm.snapshot) : null,
          ...(farm.note !== undefined ? { farmNote: farm.note } : {}),
          registry,
          temporalUi: `${ui}/namespaces/${ns}/workflows?query=${encodeURIComponent(code)}`,
          workflowTotal: total,
          workflows: [...farmRuns, ...page.filter((info) => shownRuns.has(info.runId))].map(row),
          failures: failures.map(row),
          timeline,
          nextBefore: !more
            ? null
            : new Date(
                lastAt !== undefined && Number.isFinite(lastAt) ? lastAt : startedAtMs,
              ).toISOString(),
        };
      });
    },
  };
}

export type StoryReader = ReturnType<typeof createStoryReader>;

/** Why a workflow that did not complete ended, from its close event. */
function closeFailure(event: HistoryEvent | undefined): string | undefined {
  if (!event) return undefined;
  if (event.workflowExecutionFailedEventAttributes) {
    return event.workflowExecutionFailedEventAttributes.failure?.message ?? 'failed';
  }
  if (event.workflowExecutionTimedOutEventAttributes) return 'timed out';
  if (event.workflowExecutionTerminatedEventAttributes) {
    return `terminated: ${event.workflowExecutionTerminatedEventAttributes.reason || 'no reason given'}`;
  }
  if (event.workflowExecutionCanceledEventAttributes) return 'cancelled';
  return undefined;
}

const cropName = (cropId: unknown) =>
  isCropId(cropId) ? CROPS[cropId].name.toLowerCase() : String(cropId);

/** What the player asked for, from the action the message carried. */
export function describeAction(action: FarmAction | undefined): string {
  switch (action?.type) {
    case 'plant':
      return `plant ${cropName(action.cropId)} on plot ${plotNumber(action.plotId)}`;
    case 'harvest':
      return `harvest plot ${plotNumber(action.plotId)}`;
    case 'sell':
      return `sell ${action.quantity} ${cropName(action.cropId)}`;
    case 'buyPlot':
      return 'buy a plot';
    case 'claimDailyBonus':
      return 'claim the daily bonus';
    case 'setPreferences':
      return `set preferences (${Object.entries(action)
        .filter(([key]) => key !== 'type')
        .map(([key, value]) => `${key} ${value ? 'on' : 'off'}`)
        .join(', ')})`;
    default:
      return `an action the game does not know (${String((action as { type?: unknown } | undefined)?.type)})`;
  }
}

/** What the farm did. */
export function describeEvent(event: ActionEvent): string {
  switch (event.type) {
    case 'planted':
      return `planted, ${event.coinsSpent} coins spent`;
    case 'harvested':
      return `harvested ${event.quantity} ${cropName(event.cropId)}, +${event.xpGained} XP${event.levelUp ? ', level up' : ''}`;
    case 'sold':
      return `sold for ${event.coinsEarned} coins (${event.unitPrice} each)`;
    case 'plotBought':
      return `bought plot ${plotNumber(event.plotId)} for ${event.coinsSpent} coins`;
    case 'dailyBonusClaimed':
      return `+${event.coinsEarned} coins`;
    case 'preferencesChanged':
      return `notifications ${event.preferences.notifications ? 'on' : 'off'}, name ${event.preferences.showName ? 'shown' : 'hidden'}`;
  }
}

/** The calendar events running when a message was answered: the events the player took part in. */
function eventsDuring(screen: MainMenuScreen | undefined): string {
  const names = (screen?.world?.events ?? []).map((e) => e.name).filter(Boolean);
  return names.length > 0 ? ` (during ${names.join(', ')})` : '';
}

function farmLogEntries(log: FarmLogEntry[]): TimelineEntry[] {
  return log.map((entry): TimelineEntry => {
    const time = new Date(entry.atMs).toISOString();
    const batch = entry.batchId !== undefined ? { batchId: entry.batchId } : {};
    if (entry.kind === 'grant') {
      const amounts = [
        entry.coins !== 0 ? `${entry.coins > 0 ? '+' : ''}${entry.coins} coins` : '',
        entry.xp !== 0 ? `${entry.xp > 0 ? '+' : ''}${entry.xp} XP` : '',
      ]
        .filter(Boolean)
        .join(', ');
      return {
        time,
        kind: 'grant',
        summary: `${amounts || 'nothing'}: ${entry.reason}${entry.batchId ? ` (batch ${entry.batchId})` : ''} [grant ${entry.grantId}]`,
        source: 'farm',
        ...batch,
      };
    }
    const outcome =
      entry.outcome === 'skipped' ? `skipped (${entry.skipped ?? 'no reason'})` : entry.outcome;
    return {
      time,
      kind: entry.topic === 'announcement' ? 'event' : 'notification',
      summary: `${entry.summary}: ${outcome}`,
      source: 'farm',
      ...(entry.outcome === 'skipped' && entry.skipped === 'failed'
        ? { failed: true as const }
        : {}),
      ...batch,
    };
  });
}

function farmView(snapshot: FarmSnapshot): FarmView {
  const { farm } = snapshot;
  const ready = new Set(snapshot.readyCrops.map((r) => r.plotId));
  const preferences = preferencesOf(farm);
  return {
    createdAt: new Date(farm.createdAtMs).toISOString(),
    asOf: new Date(snapshot.asOfMs).toISOString(),
    coins: farm.coins,
    xp: farm.xp,
    level: levelForXp(farm.xp),
    plots: farm.plots.map((plot) => ({
      plot: plotNumber(plot.id),
      crop: plot.crop ? cropName(plot.crop.cropId) : null,
      readyAt: plot.crop ? new Date(plot.crop.readyAtMs).toISOString() : null,
      ready: ready.has(plot.id) || (plot.crop !== null && isReady(plot.crop, snapshot.asOfMs)),
    })),
    inventory: Object.fromEntries(
      Object.entries(farm.inventory)
        .filter(([, n]) => (n ?? 0) > 0)
        .map(([cropId, n]) => [cropName(cropId as CropId), n ?? 0]),
    ),
    preferences,
    displayName: snapshot.profile?.displayName ?? null,
    reachable: snapshot.profile?.reachable ?? null,
  };
}
