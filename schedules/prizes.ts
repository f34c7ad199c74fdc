/**
 * The weekly prize, for game designers: when it is paid and what each place on the leaderboard
 * gets. Change a line here, run `npm run schedules -- plan` to see the change, then `apply`.
 *
 * The prize is paid once per ISO week: its batch is named `weekly-prize-<year>-W<week>` after the
 * week of the time its schedule names, so a second firing, a trigger or a backfill in the same
 * week pays nobody again.
 */
import type { CalendarSpec } from '@temporalio/client';
import type { WeeklyPrizeInput } from '../workflows/contract';

export interface WeeklyPrizeDefinition {
  /** When it is paid; read in `timezone`. At the end of the week it rewards (the id names it). */
  starts: CalendarSpec;
  timezone: string;
  prize: WeeklyPrizeInput;
}

const place = (coins: number) => ({ coins, xp: 0 });

export const WEEKLY_PRIZE: WeeklyPrizeDefinition = {
  starts: { dayOfWeek: 'SUNDAY', hour: 20, minute: 0, comment: 'Sundays 20:00' },
  timezone: 'UTC',
  prize: {
    // 1st, 2nd, 3rd, then 4th to 10th.
    prizes: [place(500), place(300), place(200), ...Array.from({ length: 7 }, () => place(100))],
    reason: 'weekly prize',
    message: '🏆 You are among the best farmers of the week! Here is your prize.',
  },
};
