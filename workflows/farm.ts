/**
 * GameFarmWorkflow: one per player, the single writer of that player's farm. Actions arrive as
 * updates (validated before they enter history), grants as signals, reads as queries; crop timers
 * are durable, so a crop is ready on time even when no worker ran meanwhile.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { createFarmActivities } from '../activities/farm';
import {
  ACTION_UPDATES,
  type FarmActionInput,
  type FarmActionResult,
  type FarmCarriedState,
  type FarmSnapshot,
  type GameFarmInput,
  getFarmQuery,
  getSealedChatIdQuery,
  grantRewardSignal,
  openFarmUpdate,
} from './contract';
import { applyAction, applyGrant, type FarmAction, newFarm, validateAction } from '../game';

/** Grants older than this are refused, so ids older than this need not be remembered. */
export const GRANT_WINDOW_MS = 30 * 24 * 60 * 60 * 1000;
/**
 * A per-message workflow's local activity retries its farm call for about a minute at most
 * (Telegram redeliveries are caught earlier, by the per-message workflow id); an hour is a wide
 * margin that keeps the record small.
 */
export const ACTION_WINDOW_MS = 60 * 60 * 1000;
/** Below the server's own limits, so replaying a farm after a cache miss stays cheap. */
export const DEFAULT_MAX_HISTORY_EVENTS = 2000;
/**
 * Registration runs beside the farm instead of before its main path: a registration that fails
 * or waits (a worker with another USER_HASH_SECRET, Redis down) must never keep the farm from
 * continuing as new. Farms that started before this change replay the old, awaited path.
 */
export const REGISTRATION_OFF_MAIN_PATH_PATCH = 'registration-off-main-path';

const { registerPlayer } = proxyActivities<ReturnType<typeof createFarmActivities>>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', maximumInterval: '30s' },
});

export async function GameFarmWorkflow(input: GameFarmInput): Promise<void> {
  const state: FarmCarriedState = input.carried ?? {
    farm: newFarm(Date.now(), input.timeScale),
    readyCrops: [],
    appliedGrants: {},
    recentActions: {},
    registered: false,
  };
  const maxHistoryEvents = input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS;

  const snapshot = (asOfMs = Date.now()): FarmSnapshot => ({
    userHash: input.userHash,
    farm: state.farm,
    readyCrops: state.readyCrops,
    asOfMs,
  });
  /**
   * A query-only activation does not advance the workflow clock (sdk-typescript #796): `Date.now()`
   * in a query is the time of the farm's last action. Queries write nothing to history, so the
   * worker's own clock is safe here; never earlier than the workflow clock, so a worker whose clock
   * lags the server's cannot show a time before the farm's last action.
   */
  const presentSnapshot = () => snapshot(Math.max(Date.now(), workflowInfo().unsafe.now()));

  const forgetOlderThan = <T>(
    record: Record<string, T>,
    cutoffMs: number,
    at: (value: T) => number,
  ) => {
    for (const [id, value] of Object.entries(record)) if (at(value) < cutoffMs) delete record[id];
  };

  /** A timer per growing crop; on continue-as-new the next run starts the ones still pending. */
  const watchCrop = (plotId: number) => {
    const crop = state.farm.plots[plotId]?.crop;
    if (!crop) return;
    void sleep(Math.max(0, crop.readyAtMs - Date.now())).then(() => {
      const current = state.farm.plots[plotId]?.crop;
      // Harvested and replanted meanwhile: this timer belonged to the earlier crop.
      if (current?.plantedAtMs !== crop.plantedAtMs) return;
      if (state.readyCrops.some((r) => r.plotId === plotId)) return;
      state.readyCrops.push({
        plotId,
        cropId: current.cropId,
        readyAtMs: current.readyAtMs,
        recordedAtMs: Date.now(),
      });
      log.info('crop ready', { plotId, cropId: current.cropId });
    });
  };

  const refusal = (type: string, request: FarmActionInput): string | undefined => {
    if (state.recentActions[request.actionId]) return undefined; // a retry: answered from memory
    const action = validateAction(request.action);
    if (!('reason' in action) && action.type !== type) return 'That action does not belong here.';
    if ('reason' in action) return action.reason;
    const result = applyAction(state.farm, action, request.world, Date.now());
    return result.ok ? undefined : result.reason;
  };

  const apply = (request: FarmActionInput): FarmActionResult => {
    const known = state.recentActions[request.actionId];
    if (known) return { event: known.event, snapshot: snapshot() };
    const action = validateAction(request.action) as FarmAction;
    const result = applyAction(state.farm, action, request.world, Date.now());
    // The validator ran against this same state moments ago, in this same activation.
    if (!result.ok) throw ApplicationFailure.nonRetryable(result.reason, 'ActionRefused');
    state.farm = result.state;
    const event = result.event;
    if (event.type === 'planted') watchCrop(event.plotId);
    if (event.type === 'harvested')
      state.readyCrops = state.readyCrops.filter((r) => r.plotId !== event.plotId);
    const answer = { event, snapshot: snapshot() };
    forgetOlderThan(state.recentActions, Date.now() - ACTION_WINDOW_MS, (v) => v.atMs);
    state.recentActions[request.actionId] = { atMs: Date.now(), event };
    log.info('action applied', { action: action.type, actionId: request.actionId });
    return answer;
  };

  for (const [type, update] of Object.entries(ACTION_UPDATES)) {
    setHandler(update, apply, {
      validator: (request: FarmActionInput) => {
        const reason = refusal(type, request);
        if (reason) throw ApplicationFailure.nonRetryable(reason, 'ActionRefused');
      },
    });
  }
  setHandler(openFarmUpdate, () => snapshot());
  setHandler(getFarmQuery, presentSnapshot);
  setHandler(getSealedChatIdQuery, () => input.sealedChatId);

  setHandler(grantRewardSignal, (grant) => {
    const now = Date.now();
    if (state.appliedGrants[grant.grantId] !== undefined) {
      log.info('grant already applied', { grantId: grant.grantId });
      return;
    }
    if (!(grant.issuedAtMs > now - GRANT_WINDOW_MS)) {
      log.warn('grant refused: older than the grant window', {
        grantId: grant.grantId,
        issuedAtMs: grant.issuedAtMs,
      });
      return;
    }
    state.farm = applyGrant(state.farm, grant);
    forgetOlderThan(state.appliedGrants, now - GRANT_WINDOW_MS, (issuedAtMs) => issuedAtMs);
    state.appliedGrants[grant.grantId] = grant.issuedAtMs;
    log.info('grant applied', {
      grantId: grant.grantId,
      coins: grant.coins,
      xp: grant.xp,
      reason: grant.reason,
    });
  });

  for (const plot of state.farm.plots) {
    if (plot.crop && !state.readyCrops.some((r) => r.plotId === plot.id)) watchCrop(plot.id);
  }

  if (!state.registered) {
    const registration = {
      userHash: input.userHash,
      sealedChatId: input.sealedChatId,
      joinedAtMs: state.farm.createdAtMs,
    };
    if (patched(REGISTRATION_OFF_MAIN_PATH_PATCH)) {
      // Carried and still unregistered: an earlier run's registration failed or was cut short.
      if (input.carried) log.warn('retrying the player registration an earlier run did not finish');
      registerPlayer(registration).then(
        () => {
          state.registered = true;
        },
        (err: unknown) => {
          const cause = (err as { cause?: { message?: string } }).cause?.message;
          log.error('player registration failed; the next run retries it', {
            error: cause ?? String(err),
          });
        },
      );
    } else {
      await registerPlayer(registration);
      state.registered = true;
    }
  }

  await condition(
    () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= maxHistoryEvents,
  );
  await condition(allHandlersFinished);
  log.info('continuing as new', { historyLength: workflowInfo().historyLength });
  await continueAsNew<typeof GameFarmWorkflow>({ ...input, carried: state });
}
