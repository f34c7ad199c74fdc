/**
 * Which failures a redelivery can fix, told by the error's type, never by probing a dependency
 * after the fact (a probe that runs after Temporal came back would call an outage a bug, and a
 * probe during a slow moment would call a bug an outage). The webhook answers these 503, so that
 * Telegram delivers the update again; every other error is a bug or bad input, answered 200.
 */
import { isGrpcServiceError } from '@temporalio/client';
import { GrammyError, HttpError } from 'grammy';
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
} from 'redis';
import { GameBusyError, IntentTimeoutError } from './game-client';
import { UpdateAbandonedError } from './update-deadline';
import { RedisCommandTimeoutError, RedisUnavailableError } from '../store/redis';

/**
 * gRPC statuses after which the server may or may not have acted (the start may have created the
 * workflow) or that say it is down or overloaded: UNKNOWN (tonic's transport errors), DEADLINE_EXCEEDED,
 * RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE, and CANCELLED (a call the deadline ended).
 */
const RETRYABLE_GRPC_CODES = new Set([1, 2, 4, 8, 10, 13, 14]);

const REDIS_CONNECTION_ERRORS = [
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
  RedisUnavailableError,
  RedisCommandTimeoutError,
];

/** Node's socket errors: a connection refused, reset or timed out. */
const SOCKET_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** True when the update should be delivered again: a dependency is down, the bot is overloaded,
 * the per-message workflow may still run, or Telegram failed to take the reply. */
export function needsRedelivery(err: unknown): boolean {
  return causes(err).some(isRetryable);
}

function isRetryable(err: Error): boolean {
  if (err instanceof GameBusyError) return true;
  if (err instanceof IntentTimeoutError || err instanceof UpdateAbandonedError) return true;
  if (isGrpcServiceError(err)) return RETRYABLE_GRPC_CODES.has(err.code);
  // The SDK's connection failed at the transport level.
  if (err.name === 'TransportError') return true;
  if (REDIS_CONNECTION_ERRORS.some((type) => err instanceof type)) return true;
  // Telegram did not take the reply: its 5xx (after retries), or no answer at all.
  if (err instanceof GrammyError) return err.error_code >= 500;
  if (err instanceof HttpError) return true;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && SOCKET_ERROR_CODES.has(code);
}

/**
 * True when a Temporal call failed because Temporal is down, overloaded or did not answer in
 * time (the admin API answers these 503): the gRPC statuses above, or the transport itself.
 */
export function isTemporalUnavailable(err: unknown): boolean {
  return causes(err).some(
    (cause) =>
      (isGrpcServiceError(cause) && RETRYABLE_GRPC_CODES.has(cause.code)) ||
      cause.name === 'TransportError',
  );
}

/** The error, its causes, and an AggregateError's errors, each once. */
function causes(err: unknown): Error[] {
  const found: Error[] = [];
  const pending = [err];
  while (pending.length > 0 && found.length < 32) {
    const next = pending.shift();
    if (!(next instanceof Error) || found.includes(next)) continue;
    found.push(next);
    pending.push(next.cause);
    if (next instanceof AggregateError) pending.push(...(next.errors as unknown[]));
  }
  return found;
}
