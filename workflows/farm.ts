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
import {
  ACTION_UPDATES,
  FARM_LOG_LIMIT,
  type FarmActivities,
  type FarmActionInput,
  type FarmActionResult,
  type FarmCarriedState,
  type FarmLogEntry,
  type FarmProfile,
  type FarmSnapshot,
  type GameFarmInput,
  getCoinDaysQuery,
  getFarmLogQuery,
  getFarmQuery,
  getPlayerRecordQuery,
  getSealedChatIdQuery,
  grantRewardSignal,
  hasGrantQuery,
  type NotificationActivities,
  type NotificationContent,
  noticeSignal,
  openFarmUpdate,
  type PlayerRecordCopy,
  setReachableSignal,
  TASK_QUEUES,
} from './contract';
import {
  applyAction,
  applyGrant,
  cleanDisplayName,
  coinDaysUntil,
  CROPS,
  type CropId,
  type FarmAction,
  newFarm,
  preferencesOf,
  recordCoins,
  scaledMs,
  validateAction,
} from '../game';

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

/**
 * Profiles (display name, XP time, reachability) published to Redis by the farm's own activity,
 * the bounded log of grants and notifications, and the notifications themselves (crops ready,
 * notices, reward messages). Farms that started before replay without them until they continue
 * as new.
 */
export const PROFILES_AND_NOTIFICATIONS_PATCH = 'profiles-and-notifications';
/**
 * Crops that ripen within this long of each other (at time scale 1) make one wave: one message.
 * A crop due sooner than this after another is ready holds the message back until it is ready.
 */
export const RIPENING_WAVE_SECONDS = 60;
/**
 * Never shorter than this, whatever the time scale: a player plants several plots one tap after
 * another, and taps take real time.
 */
export const MIN_RIPENING_WAVE_MS = 2_000;
/** How long each kind of message may wait in the notifications queue before it is pointless. */
const NOTIFICATION_TIMEOUTS = {
  cropsReady: '1h',
  announcement: '6h',
  reward: '24h',
} as const;
/**
 * Continue-as-new waits for notifications still queued (their outcome goes into the log) until
 * the history is this many times its limit; then it goes on and marks them unknown.
 */
const NOTIFICATION_WAIT_HISTORY_FACTOR = 2;

const { registerPlayer } = proxyActivities<FarmActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', maximumInterval: '30s' },
});
/** Redis's copy can always be rebuilt (backfill): a publish that keeps failing gives up. */
const { publishPlayer } = proxyActivities<FarmActivities>({
  startToCloseTimeout: '10s',
  scheduleToCloseTimeout: '10m',
  retry: { initialInterval: '500ms', maximumInterval: '30s' },
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
  // Asked once, first thing: a farm that started without it keeps the old shape for this run.
  const profiles = patched(PROFILES_AND_NOTIFICATIONS_PATCH);
  // Carried from a run without profiles (state is input.carried: read before filling it in).
  const firstRunWithProfiles = profiles && input.carried !== undefined && !input.carried.profile;
  const profile: FarmProfile | undefined = profiles
    ? (state.profile ??= {
        displayName: cleanDisplayName(input.displayName),
        xpReachedAtMs: state.farm.createdAtMs,
        reachable: true,
      })
    : undefined;
  const farmLog: FarmLogEntry[] = profiles ? (state.log ??= []) : [];
  const notices: Record<string, number> = profiles ? (state.notices ??= {}) : {};
  // Crops a run from before notifications saw ripen are never announced late.
  if (firstRunWithProfiles) {
    for (const crop of state.readyCrops) crop.noticedAtMs ??= crop.recordedAtMs;
  }
  // A notification the last run handed over and never heard back about.
  for (const entry of farmLog) {
    if (entry.kind === 'notification' && entry.outcome === 'queued') entry.outcome = 'unknown';
  }

  const snapshot = (asOfMs = Date.now()): FarmSnapshot => ({
    userHash: input.userHash,
    farm: state.farm,
    readyCrops: state.readyCrops,
    asOfMs,
    ...(profile ? { profile } : {}),
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

  /** The coin record for the report's chart: today's balance (state only, no history events). */
  const noteCoins = () => {
    state.coinDays = recordCoins(
      state.coinDays ?? [],
      state.farm.coins,
      Date.now(),
      state.farm.timeScale,
    );
  };

  const remember = (entry: FarmLogEntry) => {
    farmLog.push(entry);
    if (farmLog.length > FARM_LOG_LIMIT) farmLog.splice(0, farmLog.length - FARM_LOG_LIMIT);
  };

  const recordCopy = (): PlayerRecordCopy => {
    const preferences = preferencesOf(state.farm);
    return {
      userHash: input.userHash,
      sealedChatId: input.sealedChatId,
      joinedAtMs: state.farm.createdAtMs,
      xp: state.farm.xp,
      xpReachedAtMs: profile!.xpReachedAtMs,
      displayName: preferences.showName ? profile!.displayName : null,
      notifications: preferences.notifications,
      reachable: profile!.reachable,
    };
  };

  /**
   * Redis's copy of the profile, written by one activity at a time off the player's path: changes
   * made while one is under way go out together in the next. A run that ends with a change not
   * yet written leaves the flag set for the next run.
   */
  let publishing = false;
  let changes = 0;
  const publish = () => {
    if (!profiles) return;
    state.unpublished = true;
    changes += 1;
    if (publishing) return;
    publishing = true;
    void (async () => {
      while (state.unpublished) {
        const seen = changes;
        try {
          await publishPlayer(recordCopy());
          if (changes === seen) state.unpublished = false;
        } catch (err) {
          log.warn('publishing the profile failed; the next change or run retries', {
            error: (err as { cause?: { message?: string } }).cause?.message ?? String(err),
          });
          break;
        }
      }
      publishing = false;
    })();
  };

  /** Keeps the profile in step with the farm after any change. */
  const afterChange = (xpBefore: number, displayName?: string) => {
    if (!profile) return;
    let changed = false;
    if (state.farm.xp !== xpBefore) {
      profile.xpReachedAtMs = Date.now();
      changed = true;
    }
    const preferences = preferencesOf(state.farm);
    const name = preferences.showName ? cleanDisplayName(displayName) : null;
    if (!preferences.showName && profile.displayName !== null) {
      profile.displayName = null; // the player asked: the farm forgets it
      changed = true;
    } else if (name !== null && name !== profile.displayName) {
      profile.displayName = name;
      changed = true;
    }
    if (changed) publish();
  };

  let notificationsInFlight = 0;
  const sendNotification = (timeout: string): NotificationActivities['sendNotification'] =>
    proxyActivities<NotificationActivities>({
      taskQueue: input.notificationsTaskQueue ?? TASK_QUEUES.notifications,
      scheduleToCloseTimeout: timeout,
      // An attempt whose bot process died is retried within this, not after the whole timeout:
      // a send turn (10 s) and Telegram's bounded retries fit well inside.
      startToCloseTimeout: '1m',
      retry: { initialInterval: '1s', maximumInterval: '1m' },
    }).sendNotification;

  const summarize = (content: NotificationContent): string => {
    switch (content.topic) {
      case 'cropsReady':
        return `ready: ${content.crops.map((c) => `${CROPS[c.cropId].name.toLowerCase()}${c.plots > 1 ? ` ×${c.plots}` : ''}`).join(', ')}`;
      case 'announcement':
        return `event: ${content.name}`;
      case 'reward':
        return `reward: ${content.reason}`;
    }
  };

  /**
   * Tells the player something, unless they turned notifications off or blocked the bot, or its
   * time is past; every case goes into the log. The bot process sends it at the queue's rate.
   */
  const notify = (
    notificationId: string,
    content: NotificationContent,
    options: { notAfterMs?: number; batchId?: string } = {},
  ) => {
    if (!profile) return;
    const now = Date.now();
    const entry: Extract<FarmLogEntry, { kind: 'notification' }> = {
      kind: 'notification',
      atMs: now,
      notificationId,
      topic: content.topic,
      summary: summarize(content),
      outcome: 'queued',
      ...(options.batchId ? { batchId: options.batchId } : {}),
    };
    remember(entry);
    const skip = !preferencesOf(state.farm).notifications
      ? ('notifications off' as const)
      : !profile.reachable
        ? ('blocked' as const)
        : options.notAfterMs !== undefined && options.notAfterMs <= now
          ? ('expired' as const)
          : undefined;
    if (skip) {
      Object.assign(entry, { outcome: 'skipped', skipped: skip, settledAtMs: now });
      log.info('notification skipped', { notificationId, topic: content.topic, skipped: skip });
      return;
    }
    notificationsInFlight += 1;
    sendNotification(NOTIFICATION_TIMEOUTS[content.topic])({
      notificationId,
      userHash: input.userHash,
      sealedChatId: input.sealedChatId,
      content,
      ...(options.notAfterMs !== undefined ? { notAfterMs: options.notAfterMs } : {}),
    })
      .then(
        (result) => {
          Object.assign(entry, result, { settledAtMs: Date.now() });
          if (result.outcome === 'skipped' && result.skipped === 'blocked' && profile.reachable) {
            profile.reachable = false;
            publish();
          }
        },
        (err: unknown) => {
          Object.assign(entry, { outcome: 'skipped', skipped: 'failed', settledAtMs: Date.now() });
          log.warn('notification failed', {
            notificationId,
            error: (err as { cause?: { message?: string } }).cause?.message ?? String(err),
          });
        },
      )
      .finally(() => {
        notificationsInFlight -= 1;
      });
  };

  /**
   * One message per ripening wave: crops ready and not yet told about wait while another crop is
   * due within the wave's gathering time, then go out together.
   */
  const noticeReadyCrops = () => {
    if (!profile) return;
    const pending = state.readyCrops.filter((r) => r.noticedAtMs === undefined);
    if (pending.length === 0) return;
    const now = Date.now();
    const gatherMs = Math.max(
      MIN_RIPENING_WAVE_MS,
      scaledMs(RIPENING_WAVE_SECONDS, state.farm.timeScale),
    );
    // A crop already due whose timer has not run yet (timers that fire in one activation run one
    // after the other, and a busy worker runs them late) belongs to this wave too.
    const waveGoesOn = state.farm.plots.some(
      (plot) =>
        plot.crop !== null &&
        plot.crop.readyAtMs - now <= gatherMs &&
        !state.readyCrops.some((r) => r.plotId === plot.id),
    );
    if (waveGoesOn) return;
    const plots = new Map<CropId, number>();
    for (const crop of pending) {
      crop.noticedAtMs = now;
      plots.set(crop.cropId, (plots.get(crop.cropId) ?? 0) + 1);
    }
    notify(`crops-ready-${now}`, {
      topic: 'cropsReady',
      crops: [...plots].map(([cropId, count]) => ({ cropId, plots: count })),
    });
  };

  /** A timer per growing crop; on continue-as-new the next run starts the ones still pending. */
  const watchCrop = (plotId: number) => {
    const crop = state.farm.plots[plotId]?.crop;
    if (!crop) return;
    void sleep(Math.max(0, crop.readyAtMs - Date.now())).then(() => {
      const current = state.farm.plots[plotId]?.crop;
      // Harvested and replanted meanwhile: this timer belonged to the earlier crop (whose wave
      // may have been waiting for it).
      if (current?.plantedAtMs !== crop.plantedAtMs) return noticeReadyCrops();
      if (state.readyCrops.some((r) => r.plotId === plotId)) return;
      state.readyCrops.push({
        plotId,
        cropId: current.cropId,
        readyAtMs: current.readyAtMs,
        recordedAtMs: Date.now(),
      });
      log.info('crop ready', { plotId, cropId: current.cropId });
      noticeReadyCrops();
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
    if (known) return { event: known.event, snapshot: snapshot(), repeated: true };
    const action = validateAction(request.action) as FarmAction;
    const xpBefore = state.farm.xp;
    const result = applyAction(state.farm, action, request.world, Date.now());
    // The validator ran against this same state moments ago, in this same activation.
    if (!result.ok) throw ApplicationFailure.nonRetryable(result.reason, 'ActionRefused');
    const coinsBefore = state.farm.coins;
    state.farm = result.state;
    if (state.farm.coins !== coinsBefore) noteCoins();
    const event = result.event;
    if (event.type === 'planted') watchCrop(event.plotId);
    if (event.type === 'harvested')
      state.readyCrops = state.readyCrops.filter((r) => r.plotId !== event.plotId);
    if (profile && !profile.reachable) {
      profile.reachable = true; // the player wrote: the chat works again
      publish();
    }
    // Redis's copy holds the preferences too (the name is afterChange's).
    if (event.type === 'preferencesChanged') publish();
    afterChange(xpBefore, request.displayName);
    // Redis keeps a copy of the notifications choice too (the name is afterChange's).
    if (event.type === 'preferencesChanged') publish();
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
  setHandler(getFarmLogQuery, () => [...farmLog].reverse());
  setHandler(getCoinDaysQuery, () => {
    const { asOfMs } = presentSnapshot();
    return coinDaysUntil(state.coinDays ?? [], state.farm.coins, asOfMs, state.farm.timeScale);
  });
  setHandler(hasGrantQuery, (grantId) => state.appliedGrants[grantId] !== undefined);
  if (profile) setHandler(getPlayerRecordQuery, recordCopy);

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
    const xpBefore = state.farm.xp;
    const coinsBefore = state.farm.coins;
    state.farm = applyGrant(state.farm, grant);
    if (state.farm.coins !== coinsBefore) noteCoins();
    forgetOlderThan(state.appliedGrants, now - GRANT_WINDOW_MS, (issuedAtMs) => issuedAtMs);
    state.appliedGrants[grant.grantId] = grant.issuedAtMs;
    log.info('grant applied', {
      grantId: grant.grantId,
      coins: grant.coins,
      xp: grant.xp,
      reason: grant.reason,
      ...(grant.batchId ? { batchId: grant.batchId } : {}),
    });
    if (!profile) return;
    remember({
      kind: 'grant',
      atMs: now,
      grantId: grant.grantId,
      coins: state.farm.coins - coinsBefore,
      xp: state.farm.xp - xpBefore,
      reason: String(grant.reason),
      ...(grant.batchId ? { batchId: String(grant.batchId) } : {}),
    });
    afterChange(xpBefore);
    if (typeof grant.message === 'string' && grant.message !== '') {
      notify(
        `grant-${grant.grantId}`,
        {
          topic: 'reward',
          coins: grant.coins,
          xp: grant.xp,
          reason: String(grant.reason),
          message: grant.message,
        },
        grant.batchId ? { batchId: grant.batchId } : {},
      );
    }
  });

  setHandler(noticeSignal, (notice) => {
    if (!profile) return;
    const now = Date.now();
    if (notices[notice.notificationId] !== undefined) {
      log.info('notice already received', { notificationId: notice.notificationId });
      return;
    }
    forgetOlderThan(notices, now - GRANT_WINDOW_MS, (atMs) => atMs);
    notices[notice.notificationId] = now;
    notify(notice.notificationId, notice.content, {
      notAfterMs: notice.notAfterMs,
      ...(notice.batchId ? { batchId: notice.batchId } : {}),
    });
  });

  setHandler(setReachableSignal, ({ reachable }) => {
    if (!profile || profile.reachable === reachable) return;
    profile.reachable = reachable;
    log.info(reachable ? 'player unblocked the bot' : 'player blocked the bot');
    publish();
  });

  for (const plot of state.farm.plots) {
    if (plot.crop && !state.readyCrops.some((r) => r.plotId === plot.id)) watchCrop(plot.id);
  }

  // A new farm appears on the leaderboard at once; a run whose last publish was cut short retries.
  if (profile && (!input.carried || state.unpublished)) publish();

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
  // Their outcomes belong in the log; a queue that holds them for long does not hold the farm.
  await condition(
    () =>
      notificationsInFlight === 0 ||
      workflowInfo().historyLength >= maxHistoryEvents * NOTIFICATION_WAIT_HISTORY_FACTOR,
  );
  await condition(allHandlersFinished);
  log.info('continuing as new', { historyLength: workflowInfo().historyLength });
  await continueAsNew<typeof GameFarmWorkflow>({ ...input, carried: state });
}
