/**
 * The contract between workflows, activities, the bot and tests: search attributes, task queues,
 * workflow ids, and the farm's messages with their input and output types. Imports nothing beyond
 * the Temporal SDK (and types of the pure game rules), so workflow code can use it.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  ActionEvent,
  ActiveEvent,
  CoinDay,
  CropId,
  EventEffect,
  FarmAction,
  FarmState,
  Grant,
  MarketState,
  WorldState,
} from '../game';

/** The player's support code; every per-player workflow carries it. */
export const USER_HASH_SEARCH_ATTRIBUTE = defineSearchAttributeKey(
  'UserHash',
  SearchAttributeType.KEYWORD,
);

/**
 * Set by Temporal on every workflow a schedule starts: the time its spec named for this run (or of
 * the trigger or backfill), however late the run actually started. Absent on a direct start.
 */
export const SCHEDULED_START_TIME_SEARCH_ATTRIBUTE = defineSearchAttributeKey(
  'TemporalScheduledStartTime',
  SearchAttributeType.DATETIME,
);

/** Activity header that carries the player's support code into activity log lines. */
export const USER_HASH_HEADER = 'farmflow-user-hash';

export const TASK_QUEUES = {
  /** Long-lived farms and their ordinary activities (worker processes). */
  game: 'farmflow-game',
  /** Per-message workflows, polled by the process that starts them so they start eagerly. */
  mainMenu: 'farmflow-main-menu',
  /**
   * Messages the farms send on their own (crops ready, events, rewards): polled by the bot
   * process, which holds the token and the outgoing pacing; its rate is limited by the server.
   */
  notifications: 'farmflow-notifications',
  /**
   * Farm reports: reading the farm, and finding a process to draw the picture on. Polled by the
   * bot processes, each of which also polls a task queue of its own for the picture's files
   * (`claimFileWorker` names it): the file never leaves that process's disk.
   */
  reports: 'farmflow-reports',
} as const;

/** Workflow types, as the workflow functions are exported. */
export const WORKFLOW_TYPES = {
  gameFarm: 'GameFarmWorkflow',
  mainMenuQuery: 'MainMenuQueryWorkflow',
  mainMenuMessage: 'MainMenuMessageWorkflow',
  /** Started by the market tick schedule. */
  marketTick: 'MarketTickWorkflow',
  /** Started by each calendar event's schedule. */
  calendarEvent: 'CalendarEventWorkflow',
  /** Pays a reward to a population of players, or tells them something, page by page. */
  playerBatch: 'PlayerBatchWorkflow',
  /** Started by the weekly prize schedule: starts (or finds) that week's prize batch. */
  weeklyPrize: 'WeeklyPrizeWorkflow',
  /** Rebuilds Redis's copies (registry, leaderboard, preferences) from the farms. */
  redisBackfill: 'RedisBackfillWorkflow',
  /** Support's compensation to one player: one per idempotency key, ever. */
  supportGrant: 'SupportGrantWorkflow',
  /** A player's farm report: one at a time per player. */
  farmReport: 'FarmReportWorkflow',
} as const;

export const farmWorkflowId = (userHash: string) => `game-farm-${userHash}`;
/** `updateId` comes from the Telegram update id, so a redelivered update maps to the same id. */
export const mainMenuWorkflowId = (userHash: string, updateId: string) =>
  `main-menu-${userHash}-${updateId}`;
/** A batch's id names what it pays for (`weekly-prize-2026-W48`): one workflow per batch, ever. */
export const batchWorkflowId = (batchId: string) => `batch-${batchId}`;
/** One compensation per player and idempotency key: a double click starts one workflow. */
export const supportGrantWorkflowId = (userHash: string, idempotencyKey: string) =>
  `support-grant-${userHash}-${idempotencyKey}`;
/** One report at a time: a second request while one runs gets the running one. */
export const farmReportWorkflowId = (userHash: string) => `farm-report-${userHash}`;
/** One backfill at a time per Redis key prefix (the prefix names the copy it rebuilds). */
export const redisBackfillWorkflowId = (keyPrefix: string) => `redis-backfill-${keyPrefix}`;

// ---------------------------------------------------------------- GameFarmWorkflow

export interface GameFarmInput {
  userHash: string;
  /** Fixed at creation; every duration of this farm is multiplied by it. */
  timeScale: number;
  /** The Telegram chat id, encrypted: no raw Telegram id enters Temporal. */
  sealedChatId: string;
  /** Carried across continue-as-new; absent on the farm's first run. */
  carried?: FarmCarriedState;
  /** Continue-as-new after this many history events (tests force it low). */
  maxHistoryEvents?: number;
  /** The player's Telegram first name when the farm was created (cleaned by the farm). */
  displayName?: string;
  /** Where the farm's notification activities go; TASK_QUEUES.notifications when absent. */
  notificationsTaskQueue?: string;
}

/** GameFarmWorkflow's signature, for callers that start it by type name (WORKFLOW_TYPES.gameFarm). */
export type GameFarmWorkflowSignature = (input: GameFarmInput) => Promise<void>;

export interface ReadyCrop {
  plotId: number;
  cropId: CropId;
  readyAtMs: number;
  /** When the farm's timer saw it ready (workflow time): the hook for "your corn is ready". */
  recordedAtMs: number;
  /**
   * When the player was told (or the farm decided not to tell them): set once per ripening wave.
   * Absent on crops recorded before notifications, which are never announced late.
   */
  noticedAtMs?: number;
}

/** What a farm tells its player on its own; the bot process renders it (bot/notifications). */
export type NotificationContent =
  | { topic: 'cropsReady'; crops: { cropId: CropId; plots: number }[] }
  | { topic: 'announcement'; eventId: string; name: string; text: string; endsAtMs: number }
  | { topic: 'reward'; coins: number; xp: number; reason: string; message: string };

export type NotificationTopic = NotificationContent['topic'];

/** Why a notification was not sent. */
export type NotificationSkip = 'notifications off' | 'blocked' | 'expired' | 'no chat' | 'failed';

/** One line of the farm's record of what it gave and told its player (newest last). */
export type FarmLogEntry =
  | {
      kind: 'grant';
      atMs: number;
      grantId: string;
      coins: number;
      xp: number;
      reason: string;
      batchId?: string;
    }
  | {
      kind: 'notification';
      atMs: number;
      notificationId: string;
      topic: NotificationTopic;
      /** A short line for support: what the message said. */
      summary: string;
      /**
       * queued: handed to the notifications queue, outcome not known yet; unknown: the farm
       * continued as new before the queue answered (it may or may not have been sent).
       */
      outcome: 'queued' | 'sent' | 'skipped' | 'unknown';
      skipped?: NotificationSkip;
      batchId?: string;
      /** When the outcome was known. */
      settledAtMs?: number;
    };

/** Entries the farm keeps; older ones are dropped first (README: "What the farm remembers"). */
export const FARM_LOG_LIMIT = 100;

/** The player's side of the farm: who they are to others and whether they can be messaged. */
export interface FarmProfile {
  /** The cleaned Telegram first name; null when unknown or when the player chose to hide it. */
  displayName: string | null;
  /** When the farm reached its current XP (ties on the leaderboard go to the earlier). */
  xpReachedAtMs: number;
  /** False after Telegram answered 403 (blocked, deactivated); true again on the next message. */
  reachable: boolean;
}

/** Everything a farm knows; continue-as-new carries it whole. */
export interface FarmCarriedState {
  farm: FarmState;
  /** Crops whose timer fired, until harvested. */
  readyCrops: ReadyCrop[];
  /** grantId → issue time; ids inside the grant window, so a redelivery never credits twice. */
  appliedGrants: Record<string, number>;
  /** actionId → when applied and what it did, kept for the action window. */
  recentActions: Record<string, { atMs: number; event: ActionEvent }>;
  registered: boolean;
  /** Absent on runs from before profiles: the next run fills it from the farm. */
  profile?: FarmProfile;
  /** Recent grants and notifications, oldest first, at most FARM_LOG_LIMIT. */
  log?: FarmLogEntry[];
  /** notificationId → when received; a redelivered notice is not sent twice (grant window). */
  notices?: Record<string, number>;
  /** A profile change Redis has not been told about yet. */
  unpublished?: boolean;
  /** The balance per game day, oldest first (game/records.ts); absent on farms from before it. */
  coinDays?: CoinDay[];
}

export interface FarmSnapshot {
  userHash: string;
  farm: FarmState;
  readyCrops: ReadyCrop[];
  /** The farm's clock when the snapshot was taken. */
  asOfMs: number;
  /** Absent from farms (and recorded screens) from before profiles. */
  profile?: FarmProfile;
}

export interface FarmActionInput {
  /** Idempotency key: the per-message workflow id. */
  actionId: string;
  action: FarmAction;
  /** Read from Redis by the caller, so the farm's handlers stay free of I/O. */
  world: WorldState;
  /** The sender's Telegram first name, raw: the farm cleans it and keeps it unless hidden. */
  displayName?: string;
}

export interface FarmActionResult {
  event: ActionEvent;
  snapshot: FarmSnapshot;
  /** A retried action id answered from the farm's memory: applied once, before. */
  repeated?: true;
}

export const plantCropUpdate = defineUpdate<FarmActionResult, [FarmActionInput]>('plantCrop');
export const harvestCropUpdate = defineUpdate<FarmActionResult, [FarmActionInput]>('harvestCrop');
export const sellCropUpdate = defineUpdate<FarmActionResult, [FarmActionInput]>('sellCrop');
export const buyPlotUpdate = defineUpdate<FarmActionResult, [FarmActionInput]>('buyPlot');
export const claimDailyBonusUpdate = defineUpdate<FarmActionResult, [FarmActionInput]>(
  'claimDailyBonus',
);
export const setPreferencesUpdate = defineUpdate<FarmActionResult, [FarmActionInput]>(
  'setPreferences',
);
/** Creates the farm if needed (update-with-start) and answers its snapshot; changes nothing. */
export const openFarmUpdate = defineUpdate<FarmSnapshot, []>('openFarm');

/** One update per action type; the caller picks by `action.type`. */
export const ACTION_UPDATES = {
  plant: plantCropUpdate,
  harvest: harvestCropUpdate,
  sell: sellCropUpdate,
  buyPlot: buyPlotUpdate,
  claimDailyBonus: claimDailyBonusUpdate,
  setPreferences: setPreferencesUpdate,
} as const;

export const getFarmQuery = defineQuery<FarmSnapshot>('getFarm');
/** For support and registry rebuilds: the sealed chat id, never the raw one. */
export const getSealedChatIdQuery = defineQuery<string>('getSealedChatId');
/** The farm's record of grants and notifications, newest first. */
export const getFarmLogQuery = defineQuery<FarmLogEntry[]>('getFarmLog');
/** The coins chart's points: one per game day up to today (game/records.ts `coinDaysUntil`). */
export const getCoinDaysQuery = defineQuery<CoinDay[]>('getCoinDays');
/** Whether the farm applied this grant id (within the grant window). */
export const hasGrantQuery = defineQuery<boolean, [string]>('hasGrant');
/** Everything Redis keeps a copy of, for the backfill. */
export const getPlayerRecordQuery = defineQuery<PlayerRecordCopy>('getPlayerRecord');

export interface GrantRewardInput extends Grant {
  /** The batch that paid it, for the farm's record. */
  batchId?: string;
  /** Told to the player (unless they turned notifications off or blocked the bot). */
  message?: string;
}
export const grantRewardSignal = defineSignal<[GrantRewardInput]>('grantReward');

/** A message for the player from outside the farm (an event's announcement). */
export interface NoticeInput {
  /** Idempotency key: a second notice with this id is ignored. */
  notificationId: string;
  content: Extract<NotificationContent, { topic: 'announcement' }>;
  /** Not sent after this time (the event is over). */
  notAfterMs: number;
  batchId?: string;
}
export const noticeSignal = defineSignal<[NoticeInput]>('notice');

/** Telegram said the player blocked (false) or unblocked (true) the bot. */
export const setReachableSignal = defineSignal<[{ reachable: boolean }]>('setReachable');

// ---------------------------------------------------------------- batches and the backfill

/** How far a long-running batch or backfill is; both answer `progressQuery`. */
export interface BatchProgress {
  /** running, waiting (for the backfill), done (every player of the population), incomplete. */
  state: 'running' | 'waiting' | 'done' | 'incomplete';
  /** Players handled (applied, or found already applied). */
  done: number;
  /** The population's size when the batch started (it may grow while it runs). */
  total: number;
  /** Players that could not be handled (after retries), with the first few reasons. */
  failures: number;
  failureSamples: string[];
  /** Players per second since the batch started. */
  ratePerSecond: number;
  /** Estimated time left; null when unknown. */
  etaMs: number | null;
  startedAtMs: number;
  updatedAtMs: number;
}
export const progressQuery = defineQuery<BatchProgress>('progress');

/** RedisBackfillWorkflow's input: the game it rebuilds Redis's copy for. */
export interface RedisBackfillInput {
  /** The task queue whose running farms are listed (TASK_QUEUES.game; tests have their own). */
  gameTaskQueue: string;
  /** Farms listed and queried per page (one activity each). */
  pageSize?: number;
  /** Farms queried at once within a page. */
  concurrency?: number;
  /** Continue-as-new after this many history events (tests force it low). */
  maxHistoryEvents?: number;
  /** Carried across continue-as-new; absent on the first run. */
  carried?: RedisBackfillCarried;
}

/** Where a backfill is, carried across continue-as-new. */
export interface RedisBackfillCarried {
  /** The rebuild marker's token of this round (`createRebuildMarker().begin()`). */
  token: string;
  /** 1 for the first round; another round starts when Redis lost keys during one. */
  round: number;
  /**
   * main: every running farm; catchUp: the runs started since the main pass began (a farm that
   * continued as new during the main pass got a new start time and may have moved behind the
   * listing's cursor). The catch-up pass rewrites copies and adds nothing to the progress.
   */
  pass: 'main' | 'catchUp';
  /** When the round's main pass began (workflow time). */
  mainPassStartedAtMs: number;
  /** Visibility's page token (base64); null: the pass's first page. */
  pageToken: string | null;
  progress: BatchProgress;
}

/** One page of the backfill: listed, each farm queried and its copy written. */
export interface BackfillPageInput {
  gameTaskQueue: string;
  /** Only runs started at or after this time (a catch-up pass); null: every running farm. */
  sinceMs: number | null;
  pageToken: string | null;
  pageSize: number;
  concurrency: number;
}

export interface BackfillPageResult {
  /** Farms whose copy was written. */
  written: number;
  /** Farms listed but gone by the time they were queried (nothing to copy). */
  gone: number;
  /** Farms that could not be read or written, with why (at most a few). */
  failed: number;
  failureSamples: string[];
  /** Null: the pass is done. */
  nextPageToken: string | null;
}

/** The backfill's activities (game task queue). */
export interface RedisBackfillActivities {
  /** How many farms are running on the queue now (the progress's total). */
  countRunningFarms(gameTaskQueue: string): Promise<number>;
  /** Starts a rebuild round: the rebuild marker's token. */
  beginRedisRebuild(): Promise<string>;
  backfillFarmsPage(input: BackfillPageInput): Promise<BackfillPageResult>;
  /** True if Redis kept the round's token throughout (the copy is whole and marked so). */
  finishRedisRebuild(token: string): Promise<boolean>;
}

// ---------------------------------------------------------------- per-message workflows

export interface MainMenuQueryInput {
  userHash: string;
  sealedChatId: string;
  /** The sender's Telegram first name, raw; a farm created by this message keeps it. */
  displayName?: string;
}

export interface MainMenuMessageInput {
  userHash: string;
  sealedChatId: string;
  action: FarmAction;
  /** The sender's Telegram first name, raw; the farm keeps it unless the player hid it. */
  displayName?: string;
}

/** A player as a per-message workflow passes them on. */
export interface PlayerRef {
  userHash: string;
  sealedChatId: string;
  displayName?: string;
}

export interface ApplyFarmActionInput extends PlayerRef {
  actionId: string;
  action: FarmAction;
}

/** What the per-message workflow's local activity read of the farm and the world. */
export interface FarmRead {
  snapshot: FarmSnapshot;
  world: WorldState;
}

/** What the per-message workflow's local activity got from the farm. */
export type ApplyFarmActionResult =
  | { ok: true; result: FarmActionResult; world: WorldState }
  | { ok: false; reason: string; snapshot: FarmSnapshot; world: WorldState };

/** What the bot renders (built by `./screens`). */
export type MainMenuScreen =
  | { kind: 'farm'; snapshot: FarmSnapshot; world: WorldState }
  | { kind: 'actionDone'; event: ActionEvent; snapshot: FarmSnapshot; world: WorldState }
  | { kind: 'actionRefused'; reason: string; snapshot: FarmSnapshot; world: WorldState };

// ---------------------------------------------------------------- scheduled workflows

/** A calendar event's run, as its schedule starts it (schedules/catalog.ts). */
export interface CalendarEventInput {
  /** The event's definition id, e.g. "harvest-fair". */
  eventId: string;
  name: string;
  effect: EventEffect;
  /** Already scaled by GAME_TIME_SCALE. */
  durationMs: number;
  announcement: string;
}

/**
 * The memo key under which a running CalendarEventWorkflow shows its ActiveEvent (set before it
 * adds the event to world state): the world's rebuild reads it, and so can people in the Web UI.
 */
export const ACTIVE_EVENT_MEMO = 'activeEvent';

/** What a CalendarEventWorkflow did: ran its event, or found its end already past. */
export type CalendarEventOutcome =
  | { outcome: 'ran'; event: ActiveEvent }
  | { outcome: 'missed'; startedAtMs: number; endsAtMs: number };

/** MarketTickWorkflow's result is the market it published: Temporal keeps the market's history. */
export type MarketTickResult = MarketState;

// ---------------------------------------------------------------- activities

export interface RegisterPlayerInput {
  userHash: string;
  sealedChatId: string;
  joinedAtMs: number;
}

/** The farm's side of what Redis copies (registry, leaderboard, preferences). */
export interface PlayerRecordCopy {
  userHash: string;
  sealedChatId: string;
  joinedAtMs: number;
  xp: number;
  xpReachedAtMs: number;
  displayName: string | null;
  notifications: boolean;
  reachable: boolean;
}

export interface SendNotificationInput {
  notificationId: string;
  userHash: string;
  sealedChatId: string;
  content: NotificationContent;
  /** Not sent after this time; absent: no limit but the activity's own timeout. */
  notAfterMs?: number;
}

export type SendNotificationResult =
  | { outcome: 'sent' }
  | { outcome: 'skipped'; skipped: Exclude<NotificationSkip, 'notifications off' | 'failed'> };

/**
 * The activities as the workflows call them. Workflow code takes their types from here, never
 * from activities/ (which implements them), so the two folders import one way only.
 */
export interface FarmActivities {
  /** Adds a new farm's player to the registry that batches and notifications page through. */
  registerPlayer(input: RegisterPlayerInput): Promise<void>;
  /**
   * Writes the farm's copy into Redis (leaderboard score and name, preferences, reachability).
   * The farm calls it off the player's path, one call at a time, when any of those changed.
   */
  publishPlayer(record: PlayerRecordCopy): Promise<void>;
}

/** The activity of the notifications task queue (bot process). */
export interface NotificationActivities {
  sendNotification(input: SendNotificationInput): Promise<SendNotificationResult>;
}

/** A running calendar event in world state, with the run that owns its entry. */
export interface WorldEventEntry {
  event: ActiveEvent;
  /** The CalendarEventWorkflow run that added it: only that run removes it. */
  runId: string;
}

export interface RemoveWorldEventInput {
  eventId: string;
  runId: string;
}

/** The world state activities of the scheduled workflows (game task queue). */
export interface WorldActivities {
  /** The market as world state holds it (rebuilt from Temporal first if Redis lost it); null before any tick. */
  readMarket(): Promise<MarketState | null>;
  /** Publishes the market unless world state already holds this tick or a newer one; true if it did. */
  publishMarket(market: MarketState): Promise<boolean>;
  /** Adds the event unless world state holds a later run of it. */
  addWorldEvent(entry: WorldEventEntry): Promise<void>;
  /** Removes the event if `runId` still owns it; true if it did. */
  removeWorldEvent(input: RemoveWorldEventInput): Promise<boolean>;
}

/** Local activities of the per-message workflows, run in the process that started them. */
export interface MainMenuActivities {
  readFarm(player: PlayerRef): Promise<FarmRead>;
  applyFarmAction(input: ApplyFarmActionInput): Promise<ApplyFarmActionResult>;
}

// ---------------------------------------------------------------- reward batches

/**
 * Who a batch reaches. `all` and `joinedBefore` page through the Redis registry (by join time,
 * which comes from the farm) and take only players who joined before the batch started, so the
 * population is fixed when it starts; `top` is the leaderboard's first `prizes.length` players,
 * read once at the batch's start and kept in its state, each paid their rank's prize.
 */
export type BatchPopulation =
  | { kind: 'all' }
  | { kind: 'joinedBefore'; beforeMs: number }
  | { kind: 'top'; prizes: { coins: number; xp: number }[] };

/**
 * What a batch gives each player: a grant (coins and XP; a `top` population pays each rank's
 * prize instead of `coins` and `xp`), or a notice (an event's announcement, not sent after
 * `notAfterMs`: the batch stops there).
 */
export type BatchPayload =
  | { kind: 'grant'; coins: number; xp: number; reason: string; message?: string }
  | { kind: 'notice'; content: NoticeInput['content']; notAfterMs: number };

/** Where a batch stands in its population: the last player handled (join time, then hash). */
export interface PopulationCursor {
  joinedAtMs: number;
  userHash: string;
}

/** What a batch carries across continue-as-new. */
export interface PlayerBatchCarried {
  /** The batch's start (workflow time): grants' issue time, and the end of `all`'s population. */
  startedAtMs: number;
  /** Registry populations: the last player handled; null before the first page. */
  cursor: PopulationCursor | null;
  /** `top`: the leaderboard's players at the start, best first (null until read). */
  top: string[] | null;
  /** `top`: how many of `top` are handled. */
  topOffset: number;
  /** The population's size, counted at the start (and again before a second pass). */
  total: number;
  /** Players whose farm shows the grant (or the notice) this pass. */
  done: number;
  paidCoins: number;
  paidXp: number;
  failures: number;
  failureSamples: string[];
  /** 1 on the first pass; 2 on the checking pass over everyone, when the first fell short. */
  pass: 1 | 2;
}

export interface PlayerBatchInput {
  /** Names what is paid for: one batch per id, ever (`weekly-prize-2026-W48`). */
  batchId: string;
  population: BatchPopulation;
  payload: BatchPayload;
  /** Players per page (one activity each); default 200. */
  pageSize?: number;
  /** Signals in flight at once within a page; default 16. */
  parallelism?: number;
  /** Continue-as-new after this many pages; default 20. */
  pagesPerRun?: number;
  /** Absent on the batch's first run. */
  carried?: PlayerBatchCarried;
}

/** How a batch ended: `done` when every player of its population shows the grant. */
export interface PlayerBatchResult {
  batchId: string;
  outcome: 'done' | 'incomplete';
  population: number;
  done: number;
  failures: number;
  failureSamples: string[];
  paidCoins: number;
  paidXp: number;
  startedAtMs: number;
  finishedAtMs: number;
  /** Why it is incomplete, in a sentence. */
  reason?: string;
}

/** The memo a batch is started with, so lists and refusals can say what it pays. */
export const BATCH_MEMO = 'batch';
export interface BatchMemo {
  batchId: string;
  population: BatchPopulation;
  payload: BatchPayload;
}

/** The weekly prize schedule's input (schedules/prizes.ts). */
export interface WeeklyPrizeInput {
  /** The prize of each rank, best first. */
  prizes: { coins: number; xp: number }[];
  reason: string;
  message: string;
  pageSize?: number;
  parallelism?: number;
}

export interface WeeklyPrizeResult {
  batchId: string;
  /** `already started`: a run for this week exists (a second firing, a trigger, a backfill). */
  outcome: 'started' | 'already started';
}

/** What one Redis read of a batch gives: nothing while Redis's copy of the players is partial. */
export type RegistryRead<T> =
  { whole: false; backfillWorkflowId: string } | { whole: true; value: T };

export interface PopulationPageInput {
  population: Exclude<BatchPopulation, { kind: 'top' }>;
  /** Only players who joined before this (the batch's start, or `beforeMs` if earlier). */
  joinedBeforeMs: number;
  after: PopulationCursor | null;
  limit: number;
}

export interface PopulationCountInput {
  population: Exclude<BatchPopulation, { kind: 'top' }>;
  joinedBeforeMs: number;
}

export interface DeliverInput {
  batchId: string;
  payload: BatchPayload;
  /** The batch's start: every grant of the batch has this issue time. */
  issuedAtMs: number;
  /** `prize`: this player's amounts (a `top` population); otherwise the payload's. */
  players: { userHash: string; prize?: { coins: number; xp: number } }[];
  parallelism: number;
  /** Ask the farm first and send only where it does not show it yet (the checking pass). */
  checkFirst: boolean;
}

export interface DeliveryReport {
  /** Players whose farm now shows the grant or notice. */
  confirmed: number;
  coins: number;
  xp: number;
  failures: { userHash: string; reason: string }[];
}

/** The batch activities (game task queue): Redis reads, and the farms' signals and queries. */
export interface BatchActivities {
  countPopulation(input: PopulationCountInput): Promise<RegistryRead<number>>;
  readPopulationPage(input: PopulationPageInput): Promise<RegistryRead<PopulationCursor[]>>;
  /** The leaderboard's first `count` players, best first. */
  readLeaderboardTop(count: number): Promise<RegistryRead<string[]>>;
  deliverToPlayers(input: DeliverInput): Promise<DeliveryReport>;
}

// ---------------------------------------------------------------- support's compensation

/** SupportGrantWorkflow's input; its memo (SUPPORT_GRANT_MEMO) holds the same, for lists. */
export interface SupportGrantInput {
  userHash: string;
  /** The client's idempotency key: the grant id is derived from it. */
  idempotencyKey: string;
  coins: number;
  /** Why, as support wrote it; the player sees it with the coins. */
  reason: string;
  /** The support token's name (who granted it). */
  by: string;
}

export const SUPPORT_GRANT_MEMO = 'supportGrant';

/** The farm's grant id of a compensation. */
export const supportGrantId = (idempotencyKey: string) => `support-${idempotencyKey}`;

export type SupportGrantResult =
  | { outcome: 'granted'; grantId: string; coins: number }
  /** No farm runs under this support code: nothing was paid. */
  | { outcome: 'no farm'; grantId: string };

/** The memo a report is started with: which report this run makes, until when, for whom. */
export const REPORT_MEMO = 'report';
export interface ReportMemo {
  reportId: string;
  expiresAtMs: number;
  /** Its picture replaces a message in the player's chat (false: an API client's report). */
  toChat: boolean;
}

/** What a farm report shows, read from the farm's own records. */
export interface FarmReportData {
  userHash: string;
  /** Null when unknown or hidden by the player. */
  displayName: string | null;
  /** The farm's clock. */
  asOfMs: number;
  farm: FarmState;
  /** The balance per game day up to today, oldest first. */
  coinDays: CoinDay[];
}

/** The "Preparing your report…" message the picture replaces: the chat sealed, as always. */
export interface ReportMessage {
  sealedChatId: string;
  messageId: number;
}

export interface FarmReportInput {
  userHash: string;
  /** The player's code, a dash and 26 random characters: unguessable (bot/reports.ts). */
  reportId: string;
  /** Until when the picture is kept (REPORT_KEEP_HOURS from the request), and its links valid. */
  expiresAtMs: number;
  /** Absent for an API client's report. */
  telegram?: ReportMessage;
  /**
   * Tests: how long a lost file worker goes unnoticed (default 10 s): the wait for its queue to
   * be polled, and the silence of its heartbeats.
   */
  fileWorkerTimeoutMs?: number;
  /** Tests: the report activities' shared task queue (default TASK_QUEUES.reports). */
  reportsTaskQueue?: string;
}

/** The picture on the pinned worker's disk: never its bytes. */
export interface RenderedReport {
  /** The worker's own file, under its report files directory. */
  path: string;
  bytes: number;
  width: number;
  height: number;
  sha256: string;
}

/**
 * What became of the chat's message: replaced by the picture; gone (deleted by the player) or
 * blocked (the bot was blocked): the picture is kept for its link all the same; none: an API
 * client's report.
 */
export type ReportDelivery = 'replaced' | 'message gone' | 'blocked' | 'none';

export interface FarmReportResult {
  reportId: string;
  bytes: number;
  width: number;
  height: number;
  sha256: string;
  /** Until when GET /api/reports/:id serves the picture. */
  expiresAtMs: number;
  telegram: ReportDelivery;
  /** How many times the pinned block ran (more than 1: a file worker was lost). */
  attempts: number;
}

export interface PublishReportInput {
  reportId: string;
  userHash: string;
  file: RenderedReport;
  expiresAtMs: number;
  telegram?: ReportMessage;
}

/**
 * Activities of the reports queue and of each bot process's own file queue (bot/reports-worker.ts),
 * as function properties: each queue's worker takes its own.
 */
export interface ReportActivities {
  /** Reports queue: the farm's state and coin record (queries). */
  readFarmForReport: (input: { userHash: string }) => Promise<FarmReportData>;
  /** Reports queue: the task queue of the process that took it, for the pinned block. */
  claimFileWorker: () => Promise<string>;
  /** Reports queue: the report could not be made; the message says so instead of spinning on. */
  reportFailed: (input: { reportId: string; telegram: ReportMessage }) => Promise<void>;
  /** Pinned: draws the PNG to the process's disk. */
  renderReport: (input: { reportId: string; data: FarmReportData }) => Promise<RenderedReport>;
  /**
   * Pinned: keeps the PNG in the report store (GET /api/reports/:id), replaces the spinner
   * message with it, and deletes the local file.
   */
  publishReport: (input: PublishReportInput) => Promise<ReportDelivery>;
}
