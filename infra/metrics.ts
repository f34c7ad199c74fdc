/**
 * The process's Prometheus metrics, one registry per process: the app's own (`farmflow_`), Node's
 * (`process_`, `nodejs_`), and the Temporal SDK's, which the Runtime buffers (worker/runtime.ts)
 * and which keep the SDK's `temporal_` names. The bot serves them on its admin listener, a worker
 * on WORKER_METRICS_PORT (`/metrics`, metricsRoutes below). deploy/grafana and deploy/prometheus
 * query these names; a test checks that every name they use is exported.
 */
import type { BufferedMetricUpdate, MetricsBuffer } from '@temporalio/worker';
import type { Logger } from './logging';
import type { FastifyPluginAsync } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const registry = new Registry();
collectDefaultMetrics({ register: registry });

const registers = [registry];

/** Seconds, from an update's webhook request to its reply: the player's wait. */
const REPLY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32];

/** What a Telegram update is, for `farmflow_updates_received_total`. */
type UpdateKind = 'command' | 'text' | 'button' | 'membership' | 'other';

export const metrics = {
  updatesReceived: new Counter({
    name: 'farmflow_updates_received_total',
    help: 'Telegram updates the bot received (each delivery), by kind',
    labelNames: ['kind'] as const,
    registers,
  }),
  webhookAnswers: new Counter({
    name: 'farmflow_webhook_answers_total',
    help: 'Answers to POST /telegram/webhook, by HTTP status (503: Telegram delivers it again)',
    labelNames: ['status'] as const,
    registers,
  }),
  replyLatency: new Histogram({
    name: 'farmflow_reply_latency_seconds',
    help: "From an update's webhook request in to the Bot API call that took its reply out",
    labelNames: ['kind'] as const,
    buckets: REPLY_BUCKETS,
    registers,
  }),
  botApiCalls: new Counter({
    name: 'farmflow_bot_api_calls_total',
    help: 'Bot API calls (each attempt), by method, status (ok, an error code such as 429 or 403, or network) and sender',
    labelNames: ['method', 'status', 'sender'] as const,
    registers,
  }),
  workflowsStarted: new Counter({
    name: 'farmflow_workflows_started_total',
    help: 'Per-message workflows the bot started, by type; outcome duplicate: a redelivered update found its run',
    labelNames: ['type', 'outcome'] as const,
    registers,
  }),
  notifications: new Counter({
    name: 'farmflow_notifications_total',
    help: 'Notifications (crops ready, rewards, announcements), by outcome (sent, skipped, failed) and reason',
    labelNames: ['outcome', 'reason'] as const,
    registers,
  }),
  batchPlayers: new Counter({
    name: 'farmflow_batch_players_total',
    help: 'Players a reward batch delivered to, by result (confirmed by the farm, or failed and retried)',
    labelNames: ['result'] as const,
    registers,
  }),
  batchWaits: new Counter({
    name: 'farmflow_batch_waits_total',
    help: "Reads of a batch that found Redis's copy of the players partial: the batch waits for the backfill",
    registers,
  }),
  batchLastProgress: new Gauge({
    name: 'farmflow_batch_last_progress_timestamp_seconds',
    help: 'When a reward batch last had a page of players confirmed (Unix time)',
    registers,
  }),
};

/** The kind of an update, as Telegram sends it. */
export function updateKind(update: {
  message?: { text?: string };
  callback_query?: unknown;
  my_chat_member?: unknown;
}): UpdateKind {
  if (update.callback_query) return 'button';
  if (update.my_chat_member) return 'membership';
  if (update.message) return update.message.text?.startsWith('/') ? 'command' : 'text';
  return 'other';
}

// --- The Temporal SDK's metrics ---------------------------------------------------------------

/**
 * The labels the SDK's metrics carry (sdk-core); others are dropped. prom-client wants a metric's
 * label names up front, and one SDK metric carries different subsets of these.
 */
const TEMPORAL_LABELS = [
  'namespace',
  'task_queue',
  'workflow_type',
  'activity_type',
  'operation',
  'status_code',
  'service_name',
  'worker_type',
  'poller_type',
  'failure_reason',
  'eager',
  'slot_type',
] as const;

/** sdk-core's histogram buckets, in milliseconds, by metric name. */
function bucketsFor(name: string): number[] {
  if (name.endsWith('schedule_to_start_latency')) return [100, 500, 1000, 5000, 10000, 100000];
  if (name.startsWith('temporal_workflow_task_')) return [1, 10, 20, 50, 100, 200, 500, 1000];
  if (name === 'temporal_activity_execution_latency')
    return [50, 100, 500, 1000, 5000, 10000, 60000];
  return [50, 100, 500, 1000, 2500, 10000];
}

type TemporalMetric = Counter<string> | Gauge<string> | Histogram<string>;
const temporalMetrics = new Map<string, TemporalMetric>();

function temporalMetric(update: BufferedMetricUpdate): TemporalMetric {
  const { name, kind, description } = update.metric;
  const known = temporalMetrics.get(name);
  if (known) return known;
  const options = {
    name,
    help: description || `Temporal SDK metric ${name}`,
    labelNames: TEMPORAL_LABELS,
    registers,
  };
  const metric =
    kind === 'counter'
      ? new Counter(options)
      : kind === 'histogram'
        ? new Histogram({ ...options, buckets: bucketsFor(name) })
        : new Gauge(options);
  temporalMetrics.set(name, metric);
  return metric;
}

/** Metric names whose updates the registry refused (each reported once). */
const refused = new Set<string>();

/** Set once the SDK could not hand over its buffer: the failure would repeat at every drain. */
let retrieveFailed = false;

/**
 * Moves what the SDK buffered into the registry. Nothing here throws: an update the registry
 * refuses is skipped, and a buffer the SDK cannot hand over costs the `temporal_` metrics, never
 * the process (its core panics on every update of a metric whose creation it dropped while the
 * buffer was full, so draining stops there).
 */
function drainTemporalMetrics(buffer: MetricsBuffer, logger: Logger): void {
  if (retrieveFailed) return;
  let updates: Iterable<BufferedMetricUpdate>;
  try {
    updates = buffer.retrieveUpdates();
  } catch (err) {
    retrieveFailed = true;
    logger.error(
      { err },
      "the Temporal SDK's metrics buffer overflowed and broke: this process's temporal_ metrics stop here (farmflow_ ones go on); restart it to get them back",
    );
    return;
  }
  for (const update of updates) {
    try {
      record(update);
    } catch (err) {
      if (refused.has(update.metric.name)) continue;
      refused.add(update.metric.name);
      logger.warn({ err, metric: update.metric.name }, 'a Temporal SDK metric was not recorded');
    }
  }
}

function record(update: BufferedMetricUpdate): void {
  const labels: Record<string, string> = {};
  for (const name of TEMPORAL_LABELS) {
    const value = update.attributes[name];
    if (value !== undefined) labels[name] = String(value);
  }
  const metric = temporalMetric(update);
  const value = Number(update.value);
  if (metric instanceof Counter) metric.inc(labels, value);
  else if (metric instanceof Histogram) metric.observe(labels, value);
  else if (update.metric.kind === 'up-down-counter') metric.inc(labels, value);
  else metric.set(labels, value);
}

/**
 * How many metric updates the SDK's buffer holds (its default, 10,000, overflowed in a worker
 * restarted into a 2,000-player batch, and an overflow breaks the buffer for good). Each held
 * update is a few dozen bytes; draining every DRAIN_INTERVAL_MS keeps it nearly empty.
 */
export const TEMPORAL_METRICS_BUFFER_SIZE = 200_000;

/** How often the SDK's buffer is drained between scrapes. */
const DRAIN_INTERVAL_MS = 250;

/** Drains `buffer` into the registry now and then, and before every scrape. */
export function collectTemporalMetrics(buffer: MetricsBuffer, logger: Logger): void {
  setInterval(() => drainTemporalMetrics(buffer, logger), DRAIN_INTERVAL_MS).unref();
  beforeScrape = () => drainTemporalMetrics(buffer, logger);
}

let beforeScrape = () => {};

/** The registry in Prometheus's text format, with the SDK's latest updates in it. */
async function scrape(): Promise<{ contentType: string; body: string }> {
  beforeScrape();
  return { contentType: registry.contentType, body: await registry.metrics() };
}

/** GET /metrics, for Prometheus: open, on a listener that is never public (the bot's admin one, a worker's own). */
export const metricsRoutes: FastifyPluginAsync = async (app) => {
  app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await scrape();
    return reply.type(contentType).send(body);
  });
};
