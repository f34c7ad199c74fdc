/**
 * OpenTelemetry traces, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (one log line says which;
 * infra/config.ts checks it): then spans go over OTLP (HTTP, protobuf) to that collector's
 * `/v1/traces`; the exporter reads OpenTelemetry's other OTEL_EXPORTER_OTLP_* variables (headers,
 * compression) itself. A button press is one trace: the webhook's span
 * (bot/routes/webhook.ts), the per-message workflow's start (the bot's client interceptor puts the
 * W3C trace context in the start's Temporal headers), the activities that workflow schedules
 * (worker/workflow-interceptors.ts passes the context on; a worker in another process continues
 * the trace), the farm's update inside them, and each Bot API call (bot/outgoing.ts). Every log
 * line written inside a span carries its `trace_id` (infra/logging.ts).
 */
import { type Attributes, context, propagation, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { Resource } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { Logger } from './logging';

/** The tracer of farmflow's own spans (the webhook, Bot API calls, farm updates). */
const tracer = trace.getTracer('farmflow');

let provider: NodeTracerProvider | undefined;

/** One export to the collector, at most: within a process's stop deadline (infra/shutdown.ts). */
const EXPORT_TIMEOUT_MS = 2_000;

/**
 * Installs the process's tracer provider (W3C trace context, spans over OTLP) when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise tracing stays off and every span is a no-op.
 * Tests pass a span processor of their own (an in-memory exporter). Returns the flush to run at
 * the process's stop.
 */
export function installTracing(
  logger: Logger,
  service: string,
  options: { endpoint?: string | undefined; spanProcessor?: SpanProcessor } = {},
): () => Promise<void> {
  const { endpoint } = options;
  if (!options.spanProcessor && !endpoint) {
    logger.info('traces off: OTEL_EXPORTER_OTLP_ENDPOINT is not set');
    return async () => {};
  }
  if (provider) throw new Error('installTracing: already installed in this process');
  // Bounded: an unreachable collector must not hold a process's stop past its deadline.
  const spanProcessor =
    options.spanProcessor ??
    new BatchSpanProcessor(
      new OTLPTraceExporter({ url: tracesUrl(endpoint!), timeoutMillis: EXPORT_TIMEOUT_MS }),
      {
        exportTimeoutMillis: EXPORT_TIMEOUT_MS,
      },
    );
  const installed = new NodeTracerProvider({
    resource: new Resource({ 'service.name': service }),
    spanProcessors: [spanProcessor],
  });
  // The W3C propagator and the AsyncLocalStorage context manager, process-wide.
  installed.register();
  provider = installed;
  if (endpoint) logger.info({ endpoint }, 'traces exported over OTLP');
  return () => installed.shutdown();
}

/** OTLP/HTTP's traces path under the endpoint, as the exporter derives it from the variable. */
const tracesUrl = (endpoint: string) => `${endpoint.replace(/\/+$/, '')}/v1/traces`;

/** Undoes installTracing (tests): the API is a no-op again. */
export async function uninstallTracing(): Promise<void> {
  await provider?.shutdown();
  provider = undefined;
  trace.disable();
  context.disable();
  propagation.disable();
}

const tracingOn = () => provider !== undefined;

/** The activity interceptors that continue a trace from the activity's headers; none when off. */
export function activityTracing(): ActivityInterceptorsFactory[] {
  if (!tracingOn()) return [];
  return [
    (ctx) => ({
      inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
      outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
    }),
  ];
}

/** The client interceptor that starts workflows inside the caller's trace; none when off. */
export function clientTracing() {
  return tracingOn() ? [new OpenTelemetryWorkflowClientInterceptor()] : [];
}

/** Runs `fn` in a span of its own (a child of the active one); a failure marks the span. */
export function inSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn();
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}
