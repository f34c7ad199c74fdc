/**
 * A schedule as `plan` compares it: one readable string per field, made the same way from a
 * definition and from what Temporal holds, so that a field differs only when its meaning does.
 * Calendars (and cron lines, which become calendars in schedules/cron.ts) are expanded to the
 * sets of values they match, so however the server normalises ranges, a calendar that matches
 * the same times reads the same.
 */
import type { ScheduleDescription } from '@temporalio/client';
import { DAYS_OF_WEEK, MONTHS } from '@temporalio/client';
import { encodeScheduleSpec } from '@temporalio/client/lib/schedule-helpers';
import { msOptionalToNumber, msToNumber } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';
import { cronToCalendar } from './cron';
import type { ScheduleDefinition } from './definition';

/** The fields `plan` compares, in the order it prints them. */
export const COMPARED_FIELDS = [
  'description',
  'spec.calendars',
  'spec.intervals',
  'spec.timezone',
  'spec.jitter',
  'overlap',
  'catchupWindow',
  'workflow.type',
  'workflow.taskQueue',
  'workflow.args',
  'workflow.executionTimeout',
  /** Settings no definition makes (skip times, start/end, pause on failure, …), set by hand. */
  'other',
] as const;

export type ComparedField = (typeof COMPARED_FIELDS)[number];
export type ScheduleFields = Record<ComparedField, string>;

/** What a field reads when it is not set. */
export const NONE = 'none';

/** The memo key of each run a schedule starts: the definition's description travels there. */
export const DESCRIPTION_MEMO_KEY = 'description';

/** The calendars a definition's spec means: its calendars, then its cron lines. */
export function definitionCalendars(spec: ScheduleDefinition['spec']) {
  return [...(spec.calendars ?? []), ...(spec.cronExpressions ?? []).map(cronToCalendar)];
}

export function definitionFields(definition: ScheduleDefinition): ScheduleFields {
  const { spec, workflow } = definition;
  // The calendars as the client sends them: the same ranges Temporal receives.
  const calendars = encodeScheduleSpec({ calendars: definitionCalendars(spec) }).structuredCalendar;
  return {
    description: definition.description,
    'spec.calendars': calendarsText(calendars),
    'spec.intervals': intervalsText(
      (spec.intervals ?? []).map((i) => ({
        every: msToNumber(i.every),
        offset: msOptionalToNumber(i.offset) ?? 0,
      })),
    ),
    'spec.timezone': spec.timezone || 'UTC',
    'spec.jitter': durationOrNone(msOptionalToNumber(spec.jitter)),
    overlap: definition.overlap ?? 'SKIP',
    catchupWindow: formatDuration(msToNumber(definition.catchupWindow)),
    'workflow.type': workflow.type,
    'workflow.taskQueue': workflow.taskQueue,
    'workflow.args': canonicalJson(workflow.args),
    'workflow.executionTimeout': formatDuration(msToNumber(workflow.executionTimeout)),
    other: NONE,
  };
}

export function liveFields(live: ScheduleDescription): ScheduleFields {
  const { spec, action, policies } = live;
  const description = action.memo?.[DESCRIPTION_MEMO_KEY];
  return {
    description: typeof description === 'string' ? description : NONE,
    'spec.calendars': calendarsText(live.raw.schedule?.spec?.structuredCalendar),
    'spec.intervals': intervalsText(
      (spec.intervals ?? []).map((i) => ({ every: i.every, offset: i.offset ?? 0 })),
    ),
    'spec.timezone': spec.timezone || 'UTC',
    'spec.jitter': durationOrNone(spec.jitter),
    overlap: policies.overlap ?? 'SKIP',
    catchupWindow: formatDuration(policies.catchupWindow),
    'workflow.type': action.workflowType,
    'workflow.taskQueue': action.taskQueue,
    'workflow.args': canonicalJson(action.args ?? []),
    'workflow.executionTimeout': durationOrNone(
      msOptionalToNumber(action.workflowExecutionTimeout),
    ),
    other: otherSettings(live),
  };
}

/** The hand-made settings a definition never has; apply resets them. */
function otherSettings(live: ScheduleDescription): string {
  const { spec, action, policies } = live;
  const found: string[] = [];
  if (spec.skip?.length)
    found.push(`skip=${calendarsText(live.raw.schedule?.spec?.excludeStructuredCalendar)}`);
  if (spec.startAt) found.push(`startAt=${spec.startAt.toISOString()}`);
  if (spec.endAt) found.push(`endAt=${spec.endAt.toISOString()}`);
  if (policies.pauseOnFailure) found.push('pauseOnFailure');
  if (action.workflowRunTimeout !== undefined)
    found.push(`runTimeout=${formatDuration(msToNumber(action.workflowRunTimeout))}`);
  if (action.workflowTaskTimeout !== undefined)
    found.push(`taskTimeout=${formatDuration(msToNumber(action.workflowTaskTimeout))}`);
  if (action.retry) found.push(`retry=${canonicalJson(action.retry)}`);
  if (Object.keys(action.searchAttributes ?? {}).length > 0)
    found.push(`searchAttributes=${canonicalJson(action.searchAttributes)}`);
  if (live.state.remainingActions !== undefined)
    found.push(`remainingActions=${live.state.remainingActions}`);
  if (action.workflowId !== live.scheduleId) found.push(`workflowId=${action.workflowId}`);
  return found.length > 0 ? found.join(' ') : NONE;
}

// ---------------------------------------------------------------- calendars

type ProtoCalendar = temporal.api.schedule.v1.IStructuredCalendarSpec;
type ProtoRange = temporal.api.schedule.v1.IRange;

function calendarsText(calendars: ProtoCalendar[] | null | undefined): string {
  if (!calendars || calendars.length === 0) return NONE;
  return calendars.map(calendarText).sort().join('; ');
}

/** The values a list of ranges matches, read as the server reads them. */
function expand(ranges: ProtoRange[] | null | undefined, fold = (v: number) => v): number[] {
  const values = new Set<number>();
  for (const range of ranges ?? []) {
    const start = range.start ?? 0;
    const end = Math.max(range.end ?? 0, start);
    const step = range.step && range.step > 0 ? range.step : 1;
    for (let v = start; v <= end; v += step) values.add(fold(v));
  }
  return [...values].sort((a, b) => a - b);
}

interface FieldFormat {
  min: number;
  max: number;
  name?: (value: number) => string;
}

const TIME: Record<'hour' | 'minute' | 'second', FieldFormat> = {
  hour: { min: 0, max: 23 },
  minute: { min: 0, max: 59 },
  second: { min: 0, max: 59 },
};

function valuesText(values: number[], { min, max, name }: FieldFormat): string {
  if (values.length === 0) return 'never';
  if (values.length === max - min + 1 && values[0] === min) return '*';
  return listText(values, name);
}

/** Runs of three or more consecutive values read as ranges: 1,2,3,5 reads "1-3,5". */
function listText(values: number[], name: (value: number) => string = String): string {
  const parts: string[] = [];
  for (let i = 0; i < values.length;) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j]! + 1) j += 1;
    const [first, last] = [values[i]!, values[j]!];
    if (j - i >= 2) parts.push(`${name(first)}-${name(last)}`);
    else for (let k = i; k <= j; k += 1) parts.push(name(values[k]!));
    i = j + 1;
  }
  return parts.join(',');
}

const pad = (value: number) => String(value).padStart(2, '0');

function calendarText(calendar: ProtoCalendar): string {
  const date: string[] = [];
  // An empty year list matches every year.
  const years = expand(calendar.year);
  if (years.length > 0) date.push(`year=${listText(years)}`);
  const dateFields: [string, number[], FieldFormat][] = [
    ['month', expand(calendar.month), { min: 1, max: 12, name: (m) => MONTHS[m - 1] ?? `${m}` }],
    ['dayOfMonth', expand(calendar.dayOfMonth), { min: 1, max: 31 }],
    [
      'dayOfWeek',
      // 7 is Sunday too.
      expand(calendar.dayOfWeek, (d) => d % 7),
      { min: 0, max: 6, name: (d) => DAYS_OF_WEEK[d] ?? `${d}` },
    ],
  ];
  for (const [field, values, format] of dateFields) {
    const text = valuesText(values, format);
    if (text !== '*') date.push(`${field}=${text}`);
  }
  const [hours, minutes, seconds] = [
    expand(calendar.hour),
    expand(calendar.minute),
    expand(calendar.second),
  ];
  const time =
    hours.length === 1 && minutes.length === 1 && seconds.length === 1
      ? `at ${pad(hours[0]!)}:${pad(minutes[0]!)}:${pad(seconds[0]!)}`
      : `hour=${valuesText(hours, TIME.hour)} minute=${valuesText(minutes, TIME.minute)} second=${valuesText(seconds, TIME.second)}`;
  const comment = calendar.comment ? ` (${calendar.comment})` : '';
  return `${[...date, time].join(' ')}${comment}`;
}

// ---------------------------------------------------------------- the rest

function intervalsText(intervals: { every: number; offset: number }[]): string {
  if (intervals.length === 0) return NONE;
  return intervals
    .map(
      ({ every, offset }) =>
        `every ${formatDuration(every)}${offset > 0 ? ` offset ${formatDuration(offset)}` : ''}`,
    )
    .sort()
    .join('; ');
}

function durationOrNone(ms: number | undefined): string {
  return ms === undefined || ms === 0 ? NONE : formatDuration(ms);
}

const UNITS: [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
];

/** Exact and short: 90 s reads "1m30s", 1.5 s "1.5s", 250 ms "250ms". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.round(ms);
  let text = '';
  for (const [unit, size] of UNITS) {
    if (unit === 's') break;
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  if (rest > 0) text += rest % 1000 === 0 || rest >= 1000 ? `${rest / 1000}s` : `${rest}ms`;
  return text;
}

/** JSON with object keys sorted, so that key order never reads as a change. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(
          Object.entries(inner as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0,
          ),
        )
      : inner,
  );
}
