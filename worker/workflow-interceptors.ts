/**
 * Workflow-side interceptors, loaded by the worker into every workflow isolate: every workflow log
 * line carries the player's `userHash`, and every activity the workflow schedules receives it in a
 * header so that activity log lines carry it too.
 */
import { defaultPayloadConverter, type Headers } from '@temporalio/common';
import { type WorkflowInterceptorsFactory, workflowInfo } from '@temporalio/workflow';
import { USER_HASH_HEADER, USER_HASH_SEARCH_ATTRIBUTE } from '../workflows/contract';

function currentUserHash(): string | undefined {
  return workflowInfo().typedSearchAttributes.get(USER_HASH_SEARCH_ATTRIBUTE);
}

function withUserHash(headers: Headers): Headers {
  const userHash = currentUserHash();
  return userHash
    ? { ...headers, [USER_HASH_HEADER]: defaultPayloadConverter.toPayload(userHash) }
    : headers;
}

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      getLogAttributes(input, next) {
        const userHash = currentUserHash();
        return next(userHash ? { ...input, userHash } : input);
      },
      scheduleActivity(input, next) {
        return next({ ...input, headers: withUserHash(input.headers) });
      },
      scheduleLocalActivity(input, next) {
        return next({ ...input, headers: withUserHash(input.headers) });
      },
    },
  ],
});
