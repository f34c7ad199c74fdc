/**
 * Definitions before Temporal sees them: cron lines become the calendars Temporal would make of
 * them (or are refused when cron and Temporal would read them differently), the readable fields
 * `plan` compares, and the checks that stop a definition Temporal would refuse or rewrite.
 */
import { describe, expect, it } from 'vitest';
import { OWNED_ID_PREFIX, scheduleDefinitions } from '../../schedules/catalog';
import { CronLineError, cronToCalendar } from '../../schedules/cron';
import {
  type ScheduleDefinition,
  ScheduleDefinitionError,
  validateDefinitions,
} from '../../schedules/definition';
import { canonicalJson, definitionFields, formatDuration } from '../../schedules/fields';

const catalog = () =>
  scheduleDefinitions({ timeScale: 1, taskQueue: 'farmflow-game', idPrefix: OWNED_ID_PREFIX });

function withSpec(spec: ScheduleDefinition['spec']): ScheduleDefinition {
  return { ...catalog()[1]!, spec };
}

const calendarsOf = (spec: ScheduleDefinition['spec']) =>
  definitionFields(withSpec(spec))['spec.calendars'];

describe('cron lines', () => {
  it('become the calendar they mean, with the line as its comment', () => {
    expect(cronToCalendar('0 17 * * FRI')).toEqual({
      second: [0],
      minute: [0],
      hour: [17],
      dayOfMonth: '*',
      month: '*',
      dayOfWeek: ['FRIDAY'],
      comment: 'cron: 0 17 * * FRI',
    });
    expect(calendarsOf({ cronExpressions: ['0 17 * * FRI'], timezone: 'UTC' })).toBe(
      'dayOfWeek=FRIDAY at 17:00:00 (cron: 0 17 * * FRI)',
    );
  });

  it('read the same as the calendar spec written by hand, whatever the notation', () => {
    const byHand = calendarsOf({
      calendars: [{ dayOfWeek: { start: 'MONDAY', end: 'FRIDAY' }, hour: { start: 9, end: 17 } }],
      timezone: 'UTC',
    });
    for (const line of ['0 9-17 * * 1-5', '0 9-17 * * MON-FRI', '0 9,10,11,12,13-17 * * 1,2,3-5'])
      expect(calendarsOf({ cronExpressions: [line], timezone: 'UTC' })).toBe(
        `${byHand} (cron: ${line})`,
      );
    expect(byHand).toBe('dayOfWeek=MONDAY-FRIDAY hour=9-17 minute=0 second=0');
  });

  it('expand steps, lists, Sunday as 7, and Temporal’s aliases', () => {
    expect(calendarsOf({ cronExpressions: ['*/15 9-17 1,15 * *'], timezone: 'UTC' })).toBe(
      'dayOfMonth=1,15 hour=9-17 minute=0,15,30,45 second=0 (cron: */15 9-17 1,15 * *)',
    );
    expect(cronToCalendar('0 0 * * 7').dayOfWeek).toEqual(['SUNDAY']);
    expect(cronToCalendar('@weekly')).toMatchObject({
      dayOfWeek: ['SUNDAY'],
      hour: [0],
      minute: [0],
    });
    expect(cronToCalendar('@monthly')).toMatchObject({ dayOfMonth: [1], dayOfWeek: '*' });
    expect(cronToCalendar('30 6 1 jan *')).toMatchObject({ month: ['JANUARY'], dayOfMonth: [1] });
  });

  it('are refused, with the reason, where cron and Temporal would read them differently', () => {
    const refused: [string, RegExp][] = [
      ['0 0 17 * * FRI', /6 fields; a cron line has 5/],
      ['0 0 17 * * FRI 2027', /7 fields/],
      ['0 17 1 * FRI', /both the day of the month and the day of the week/],
      ['0 0 L * *', /"L" is not supported/],
      ['0 0 * * 5#2', /"5#2" is not supported/],
      ['0 0 ? * 5', /"\?" is not supported/],
      ['H 0 * * *', /"H" is not supported/],
      ['CRON_TZ=Europe/Paris 0 17 * * FRI', /timezone/],
      ['@every 5m', /interval spec/],
      ['@sometimes', /unknown alias/],
      ['0 25 * * *', /cron "0 25 \* \* \*": /],
      ['', /0 fields|1 fields/],
    ];
    for (const [line, reason] of refused) {
      expect(() => cronToCalendar(line), line).toThrow(CronLineError);
      expect(() => cronToCalendar(line), line).toThrow(reason);
    }
  });
});

describe('the fields plan compares', () => {
  it('read the catalog as a designer would', () => {
    const [tick, fair, pumpkin] = catalog().map(definitionFields);
    expect(tick).toMatchObject({
      'spec.intervals': 'every 1m',
      'spec.calendars': 'none',
      'spec.timezone': 'UTC',
      'spec.jitter': 'none',
      overlap: 'SKIP',
      catchupWindow: '1m',
      'workflow.type': 'MarketTickWorkflow',
      'workflow.args': '[]',
      'workflow.executionTimeout': '1m',
      other: 'none',
    });
    expect(fair!['spec.calendars']).toBe('dayOfWeek=FRIDAY at 17:00:00 (Fridays 17:00)');
    expect(fair!['workflow.args']).toContain('"effect":{"saleMultiplier":2}');
    expect(fair!['workflow.executionTimeout']).toBe('5h');
    expect(pumpkin!['spec.calendars']).toBe('month=OCTOBER dayOfMonth=25 at 00:00:00 (October 25)');
  });

  it('never read key order or calendar order as a change', () => {
    expect(canonicalJson([{ b: 1, a: { d: 2, c: [3, { f: 4, e: 5 }] } }])).toBe(
      canonicalJson([{ a: { c: [3, { e: 5, f: 4 }], d: 2 }, b: 1 }]),
    );
    const one = { hour: 1, comment: 'x' };
    const two = { hour: 2, comment: 'y' };
    expect(calendarsOf({ calendars: [one, two], timezone: 'UTC' })).toBe(
      calendarsOf({ calendars: [two, one], timezone: 'UTC' }),
    );
  });

  it('show durations exactly and short', () => {
    expect(
      [0, 250, 1500, 15_000, 60_000, 90_000, 7_200_000, 9_000_000, 86_400_000 * 14 + 3_600_000].map(
        formatDuration,
      ),
    ).toEqual(['0s', '250ms', '1.5s', '15s', '1m', '1m30s', '2h', '2h30m', '14d1h']);
  });
});

describe('definition checks', () => {
  it('pass the catalog at every time scale npm start, tests and production use', () => {
    for (const timeScale of [0.001, 0.01, 1])
      expect(() =>
        validateDefinitions(
          scheduleDefinitions({ timeScale, taskQueue: 'q', idPrefix: OWNED_ID_PREFIX }),
          OWNED_ID_PREFIX,
        ),
      ).not.toThrow();
  });

  it('list every problem at once, naming the schedule', () => {
    const [tick, fair] = catalog();
    const broken: ScheduleDefinition[] = [
      { ...tick!, spec: { intervals: [{ every: 500 }], timezone: 'Mars/Olympus' } },
      { ...fair!, id: tick!.id },
      { ...fair!, id: 'elsewhere-fair', catchupWindow: '5s', paused: { note: ' ' } },
      {
        ...fair!,
        id: `${OWNED_ID_PREFIX}cron`,
        spec: { cronExpressions: ['0 0 L * *'], timezone: 'UTC' },
      },
      { ...fair!, id: `${OWNED_ID_PREFIX}never`, spec: { timezone: 'UTC' }, description: '' },
    ];
    let problems: string[] = [];
    try {
      validateDefinitions(broken, OWNED_ID_PREFIX);
    } catch (err) {
      expect(err).toBeInstanceOf(ScheduleDefinitionError);
      problems = (err as ScheduleDefinitionError).problems;
    }
    expect(problems).toEqual([
      'farmflow-market-tick: unknown timezone "Mars/Olympus" (an IANA name)',
      'farmflow-market-tick: an interval is under 1 s',
      'farmflow-market-tick: defined twice',
      'elsewhere-fair: the id must start with "farmflow-"',
      'elsewhere-fair: the catch-up window is under 10 s (Temporal would raise it)',
      'elsewhere-fair: paused without a note',
      'farmflow-cron: cron "0 0 L * *": "L" is not supported (numbers, three-letter names, *, a-b, /step and lists are)',
      'farmflow-never: the description is empty',
      'farmflow-never: the spec has no calendar, interval or cron line',
    ]);
  });
});
