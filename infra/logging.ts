/**
 * pino, for every process: the logger factory, its serializers, and the scrubber that keeps
 * secrets out of every line. The Temporal Runtime's logger and the workflow/activity log
 * attributes build on it in `worker/runtime.ts`.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config, LogLevel } from './config';
import { isSpanContextValid, trace } from '@opentelemetry/api';

export type { Logger } from 'pino';

/** Paths that could carry secrets or raw Telegram ids; pino replaces them before writing. */
const REDACT = [
  'token',
  '*.token',
  'secret',
  '*.secret',
  'headers["x-telegram-bot-api-secret-token"]',
  'req.headers["x-telegram-bot-api-secret-token"]',
  'chatId',
  '*.chatId',
  'telegramUserId',
  '*.telegramUserId',
];

/**
 * The configuration's secrets, which no log line may carry: the bot token (whole, and its secret
 * part alone), the webhook secret, USER_HASH_SECRET (with it anyone could turn a Telegram id
 * into a support code, and open sealed chat ids) and the admin API's token.
 */
export function logSecrets(
  config: Pick<Config, 'telegram' | 'userHashSecret' | 'admin' | 'support'>,
): string[] {
  const { token, webhookSecret } = config.telegram;
  const secrets = [
    webhookSecret,
    config.userHashSecret,
    config.admin.token,
    ...config.support.tokens.map((t) => t.token),
  ];
  // The part before the colon is the bot's public id; the part after it is the secret.
  if (token) secrets.push(token, token.slice(token.indexOf(':') + 1));
  return secrets.filter((s): s is string => !!s);
}

/**
 * The process logger. Every line it and its children write (fastify's logger and the Temporal
 * Runtime's are children) passes the scrubber on its way to the destination. Scrubbing the
 * serialized line, rather than the fields a serializer knows, is what makes it hold by
 * construction: a secret can arrive in a message string (`String(err)`), a child's bindings, a
 * custom field of an error at any depth, an AggregateError's list, a stack, or under a key no
 * serializer is registered for, and every one of them ends up in that line. Serializers still shape errors (and drop the fields
 * that carry a whole Telegram exchange), but the guarantee does not depend on them.
 */
export function createLogger(
  level: LogLevel,
  destination?: DestinationStream,
  secrets: Iterable<string | undefined> = [],
): Logger {
  const scrubSecrets = createScrubber(secrets);
  const scrub = (line: string) => scrubSecrets(redactLinkSignatures(line));
  return pino(
    {
      level,
      base: { service: 'farmflow' },
      redact: { paths: REDACT, censor: CENSOR },
      // The SDK passes failures as `error`; serialize them like `err` (message, stack, cause).
      serializers: { err: serializeError, error: serializeError },
      hooks: { streamWrite: scrub },
      // Inside a traced request (infra/tracing.ts), every line names its trace.
      mixin: traceIds,
    },
    destination,
  );
}

/**
 * The active span's ids, for every log line written inside one; empty outside a span or with
 * tracing off. The API alone: the tools that log need not load the tracing SDK.
 */
function traceIds(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan()?.spanContext();
  return span && isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {};
}

const CENSOR = '[redacted]';

/**
 * The signature of a signed link (a report's: `?…&sig=…`): whoever holds the whole link opens
 * what it points to, so a request line (fastify logs every URL) keeps the link but not its key.
 */
export function redactLinkSignatures(text: string): string {
  return text.includes('sig=') ? text.replace(/([?&]sig=)[^&\s"#]+/g, `$1${CENSOR}`) : text;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Replaces every form of every secret in a text with `[redacted]`: as is, escaped inside a JSON
 * string, and URL-encoded (a request URL in an error message: `:` as `%3A`, either case; a space
 * as `%20` or `+`). A JSON line is scrubbed value
 * by value (strings, keys, numbers), so it stays JSON whatever the secret looks like; other text
 * is scrubbed as is. Lines without a secret, nearly all of them, are returned untouched.
 */
export function createScrubber(secrets: Iterable<string | undefined>): (text: string) => string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (!secret) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
    forms.add(encodeURIComponent(secret));
    forms.add(new URLSearchParams({ s: secret }).toString().slice(2));
  }
  if (forms.size === 0) return (text) => text;
  const source = [...forms]
    .sort((a, b) => b.length - a.length)
    .map((form) =>
      escapeRegExp(form).replace(
        /%([0-9A-F])([0-9A-F])/g,
        (_, high: string, low: string) =>
          `%[${high}${high.toLowerCase()}][${low}${low.toLowerCase()}]`,
      ),
    )
    .join('|');
  const found = new RegExp(source);
  const all = new RegExp(source, 'g');
  const scrubText = (text: string) => text.replace(all, CENSOR);
  const scrubValue = (value: unknown): unknown => {
    if (typeof value === 'string') return found.test(value) ? scrubText(value) : value;
    if (typeof value === 'number') return found.test(String(value)) ? CENSOR : value;
    if (Array.isArray(value)) return value.map(scrubValue);
    if (typeof value === 'object' && value !== null)
      return Object.fromEntries(
        Object.entries(value).map(([key, inner]) => [scrubText(key), scrubValue(inner)]),
      );
    return value;
  };
  return (text) => {
    if (!found.test(text)) return text;
    let scrubbed: string;
    try {
      const end = text.endsWith('\n') ? '\n' : '';
      scrubbed = JSON.stringify(scrubValue(JSON.parse(text))) + end;
    } catch {
      return scrubText(text);
    }
    return found.test(scrubbed) ? scrubText(scrubbed) : scrubbed;
  };
}

/**
 * Error properties that carry a whole Telegram exchange: grammY's BotError keeps the update's
 * context (the bot token, user and chat ids, the message text) and GrammyError the call's
 * payload (chat_id, text). Redaction paths cannot reach them at every depth, so they are dropped
 * from the error, its causes, the errors in its properties and an AggregateError's list.
 */
const ERROR_FIELDS_DROPPED = ['ctx', 'payload'];

function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const serialized: Record<string, unknown> = pino.stdSerializers.err(err);
  dropFields(err, serialized, new WeakSet());
  return serialized;
}

/**
 * Drops the fields from a serialized error and from the errors nested in it (cause, BotError's
 * error, AggregateError's list as `aggregateErrors`), which the serializer made afresh; other
 * nested objects are the caller's, left as they are.
 */
function dropFields(original: Error, serialized: Record<string, unknown>, seen: WeakSet<Error>) {
  if (seen.has(original)) return;
  seen.add(original);
  for (const field of ERROR_FIELDS_DROPPED) delete serialized[field];
  const source = original as unknown as Record<string, unknown>;
  for (const key of new Set([...Object.keys(source), 'cause'])) {
    const nested = source[key];
    const copy = serialized[key];
    if (nested instanceof Error && typeof copy === 'object' && copy !== null && copy !== nested)
      dropFields(nested, copy as Record<string, unknown>, seen);
  }
  const list = serialized.aggregateErrors;
  if (Array.isArray(source.errors) && Array.isArray(list)) {
    source.errors.forEach((nested: unknown, i) => {
      const copy: unknown = list[i];
      if (nested instanceof Error && typeof copy === 'object' && copy !== null && copy !== nested)
        dropFields(nested, copy as Record<string, unknown>, seen);
    });
  }
}
