/** Which errors make the webhook answer 503 (delivered again) and which 200: by type alone. */
import { ServiceError, WorkflowFailedError } from '@temporalio/client';
import { GrammyError, HttpError } from 'grammy';
import { ClientClosedError, ClientOfflineError, ErrorReply } from 'redis';
import { describe, expect, it } from 'vitest';
import { needsRedelivery } from '../../bot/failures';
import { GameBusyError, IntentTimeoutError } from '../../bot/game-client';
import { UpdateAbandonedError } from '../../bot/update-deadline';
import { RedisCommandTimeoutError } from '../../store/redis';

const grpc = (code: number) =>
  Object.assign(new Error(`${code} gRPC`), { code, details: 'gRPC', metadata: {} });
const botApi = (code: number) =>
  new GrammyError(
    'call failed',
    { ok: false, error_code: code, description: 'x' },
    'sendMessage',
    {},
  );

describe('needsRedelivery', () => {
  it.each([
    ['overload', new GameBusyError(15_000)],
    ['no start or result within the bound', new IntentTimeoutError('start', 5_000)],
    ['the update deadline', new UpdateAbandonedError(18_000)],
    ['a start that failed UNAVAILABLE', new ServiceError('Failed to start', { cause: grpc(14) })],
    ['DEADLINE_EXCEEDED', new ServiceError('Failed', { cause: grpc(4) })],
    ['Redis offline', new ClientOfflineError()],
    ['Redis closed', new ClientClosedError()],
    ['Redis not answering', new RedisCommandTimeoutError('no answer')],
    [
      'a socket refused',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    ],
    ['a Bot API 5xx on the reply', botApi(502)],
    ['no answer from the Bot API', new HttpError('Network request failed', new Error('reset'))],
    ['wrapped in an AggregateError', new AggregateError([new TypeError('x'), grpc(14)])],
  ])('%s: 503', (_, err) => {
    expect(needsRedelivery(err)).toBe(true);
  });

  it.each([
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'split')")],
    ['a refused start (bad request)', new ServiceError('Failed to start', { cause: grpc(3) })],
    [
      'a workflow that failed',
      new WorkflowFailedError('failed', new Error('x'), 'NON_RETRYABLE_FAILURE'),
    ],
    ['a Bot API 400', botApi(400)],
    ['a blocked chat', botApi(403)],
    ['a Redis error reply', new ErrorReply('WRONGTYPE Operation against a key')],
    ['not an error', 'a string'],
  ])('%s: 200', (_, err) => {
    expect(needsRedelivery(err)).toBe(false);
  });
});
