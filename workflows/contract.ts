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
} as const;

export const farmWorkflowId = (userHash: string) => `game-farm-${userHash}`;
/** `updateId` comes from the Telegram update id, so a redelivered update maps to the same id. */
export const mainMenuWorkflowId = (userHash: string, updateId: string) =>
  `main-menu-${userHash}-${updateId}`;

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
}

/** GameFarmWorkflow's signature, for callers that start it by type name (WORKFLOW_TYPES.gameFarm). */
export type GameFarmWorkflowSignature = (input: GameFarmInput) => Promise<void>;

export interface ReadyCrop {
  plotId: number;
  cropId: CropId;
  readyAtMs: number;
  /** When the farm's timer saw it ready (workflow time): the hook for "your corn is ready". */
  recordedAtMs: number;
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
}

export interface FarmSnapshot {
  userHash: string;
  farm: FarmState;
  readyCrops: ReadyCrop[];
  /** The farm's clock when the snapshot was taken. */
  asOfMs: number;
}

export interface FarmActionInput {
  /** Idempotency key: the per-message workflow id. */
  actionId: string;
  action: FarmAction;
  /** Read from Redis by the caller, so the farm's handlers stay free of I/O. */
  world: WorldState;
}

export interface FarmActionResult {
  event: ActionEvent;
  snapshot: FarmSnapshot;
}

export const plantCropUpdate = defineUpdate<FarmActionResult, [FarmActionInput]>('plantCrop');
export const harvestCropUpdate = defineUpdate<FarmActionResult, [FarmActionInput]>('harvestCrop');
export const sellCropUpdate = defineUpdate<FarmActionResult, [FarmActionInput]>('sellCrop');
export const buyPlotUpdate = defineUpdate<FarmActionResult, [FarmActionInput]>('buyPlot');
export const claimDailyBonusUpdate = defineUpdate<FarmActionResult, [FarmActionInput]>(
  'claimDailyBonus',
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
} as const;

export const getFarmQuery = defineQuery<FarmSnapshot>('getFarm');
/** For support and registry rebuilds: the sealed chat id, never the raw one. */
export const getSealedChatIdQuery = defineQuery<string>('getSealedChatId');

export type GrantRewardInput = Grant;
export const grantRewardSignal = defineSignal<[GrantRewardInput]>('grantReward');

// ---------------------------------------------------------------- per-message workflows

export interface MainMenuQueryInput {
  userHash: string;
  sealedChatId: string;
}

export interface MainMenuMessageInput {
  userHash: string;
  sealedChatId: string;
  action: FarmAction;
}

/** A player as a per-message workflow passes them on. */
export interface PlayerRef {
  userHash: string;
  sealedChatId: string;
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

/**
 * The activities as the workflows call them. Workflow code takes their types from here, never
 * from activities/ (which implements them), so the two folders import one way only.
 */
export interface FarmActivities {
  /** Adds a new farm's player to the registry that batches and notifications page through. */
  registerPlayer(input: RegisterPlayerInput): Promise<void>;
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
