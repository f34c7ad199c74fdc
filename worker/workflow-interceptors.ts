/**
 * Workflow-side interceptors, loaded by the worker into every workflow isolate: every workflow log
 * line carries the player's `userHash`, and every activity the workflow schedules receives it in a
 * header so that activity log lines carry it too. A workflow started inside a trace (a per-message
 * workflow: the bot's client puts the trace context in the start's headers, infra/tracing.ts)
 * hands that context to its activities in the same header, so their spans join the trace. Headers
 * are not commands: histories replay the same with or without them.
 */
import { defaultPayloadConverter, type Headers, type Payload } from '@temporalio/common';
import { type WorkflowInterceptorsFactory, workflowInfo } from '@temporalio/workflow';
import { USER_HASH_HEADER, USER_HASH_SEARCH_ATTRIBUTE } from '../workflows/contract';

function currentUserHash(): string | undefined {
  return workflowInfo().typedSearchAttributes.get(USER_HASH_SEARCH_ATTRIBUTE);
}

/** The header Temporal's OpenTelemetry interceptors keep the trace context in. */
const TRACE_HEADER = '_tracer-data';

export const interceptors: WorkflowInterceptorsFactory = () => {
  let trace: Payload | undefined;
  const withHeaders = (headers: Headers): Headers => {
    const userHash = currentUserHash();
    return {
      ...headers,
      ...(userHash ? { [USER_HASH_HEADER]: defaultPayloadConverter.toPayload(userHash) } : {}),
      ...(trace && !headers[TRACE_HEADER] ? { [TRACE_HEADER]: trace } : {}),
    };
  };
  return {
    inbound: [
      {
        execute(input, next) {
          trace = input.headers[TRACE_HEADER];
          return next(input);
        },
      },
    ],
    outbound: [
      {
        getLogAttributes(input, next) {
          const userHash = currentUserHash();
          return next(userHash ? { ...input, userHash } : input);
        },
        scheduleActivity(input, next) {
          return next({ ...input, headers: withHeaders(input.headers) });
        },
        scheduleLocalActivity(input, next) {
          return next({ ...input, headers: withHeaders(input.headers) });
        },
      },
    ],
  };
};
