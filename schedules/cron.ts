/**
 * Cron lines in definitions, turned into calendar specs on our side. Temporal would parse them
 * itself, but it stores only the calendars it made of them, so `plan` could never show a cron
 * line as it was written; converting here means what Temporal holds is exactly what we compare.
 *
 * cron-parser reads the line. Only what it and Temporal read alike is accepted: five fields
 * (minute hour day-of-month month day-of-week), numbers, three-letter names, `*`, ranges, steps
 * and lists, and the aliases Temporal knows. Anything else is refused with a message, never
 * guessed at: seconds or years (six fields mean seconds to cron-parser, years to Temporal),
 * `L`, `W`, `#`, `?` and `H`, and a line restricting both day fields (cron runs on either day,
 * Temporal only on days that match both).
 */
import type { CalendarSpec, DayOfWeek, Month } from '@temporalio/client';
import { DAYS_OF_WEEK, MONTHS } from '@temporalio/client';
import { CronExpressionParser } from 'cron-parser';

export class CronLineError extends Error {
  constructor(
    readonly line: string,
    reason: string,
  ) {
    super(`cron "${line}": ${reason}`);
    this.name = 'CronLineError';
  }
}

/** Temporal's aliases (its own handlePredefinedCronStrings), so both sides agree on them. */
const ALIASES: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const VALUE = '(?:\\d+|[A-Za-z]{3})';
const PART = new RegExp(`^(?:\\*|${VALUE}(?:-${VALUE})?)(?:/\\d+)?$`);

/** The calendar spec a cron line means, with the line itself as its comment. */
export function cronToCalendar(line: string): CalendarSpec {
  const trimmed = line.trim().replace(/\s+/g, ' ');
  if (/^(CRON_)?TZ=/.test(trimmed))
    throw new CronLineError(line, 'set the definition\'s "timezone" instead of a TZ= prefix');
  if (trimmed.startsWith('@every'))
    throw new CronLineError(line, 'use an interval spec ({ every }) instead of @every');
  const expanded = ALIASES[trimmed] ?? trimmed;
  if (expanded.startsWith('@')) throw new CronLineError(line, 'unknown alias');
  const fields = expanded.split(' ');
  if (fields.length !== 5) {
    throw new CronLineError(
      line,
      `has ${fields.length} fields; a cron line has 5 (minute hour day-of-month month day-of-week): for seconds or years use a calendar spec`,
    );
  }
  for (const field of fields) {
    for (const part of field.split(',')) {
      if (!PART.test(part)) {
        throw new CronLineError(
          line,
          `"${part}" is not supported (numbers, three-letter names, *, a-b, /step and lists are)`,
        );
      }
    }
  }
  const [, , dayOfMonth, , dayOfWeek] = fields;
  if (dayOfMonth !== '*' && dayOfWeek !== '*') {
    throw new CronLineError(
      line,
      'restricts both the day of the month and the day of the week: cron runs on either, Temporal on both; use a calendar spec to say which',
    );
  }
  let parsed;
  try {
    parsed = CronExpressionParser.parse(expanded, { strict: false }).fields;
  } catch (err) {
    throw new CronLineError(line, (err as Error).message);
  }
  const sunday = (day: number) => day % 7;
  return {
    second: [...parsed.second.values],
    minute: [...parsed.minute.values],
    hour: [...parsed.hour.values],
    dayOfMonth: fields[2] === '*' ? '*' : numbers(parsed.dayOfMonth.values),
    month: fields[3] === '*' ? '*' : parsed.month.values.map((m) => MONTHS[m - 1] as Month),
    dayOfWeek:
      fields[4] === '*'
        ? '*'
        : [...new Set(numbers(parsed.dayOfWeek.values).map(sunday))]
            .sort((a, b) => a - b)
            .map((d) => DAYS_OF_WEEK[d] as DayOfWeek),
    comment: `cron: ${trimmed}`,
  };
}

/** The numeric values of a field (its `L`, never accepted above, aside). */
const numbers = (values: readonly unknown[]): number[] =>
  values.filter((value): value is number => typeof value === 'number');
