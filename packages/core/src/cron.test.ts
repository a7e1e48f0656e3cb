import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { cronLongestGap, cronOverlap, parseCron } from './cron.js';

function parsed(text: string) {
  const schedule = parseCron(text);
  if (typeof schedule === 'string') throw new Error(`${text}: ${schedule}`);
  return schedule;
}

describe('parseCron', () => {
  test('reads numbers, ranges, steps, lists and names', () => {
    const schedule = parsed('*/15 2-4 1,15 jan-mar mon-fri');
    expect([...schedule.minutes]).toEqual([0, 15, 30, 45]);
    expect([...schedule.hours]).toEqual([2, 3, 4]);
    expect([...schedule.daysOfMonth]).toEqual([1, 15]);
    expect([...schedule.months]).toEqual([1, 2, 3]);
    expect([...schedule.daysOfWeek]).toEqual([1, 2, 3, 4, 5]);
    expect(schedule.eitherDay).toBe(true);
  });

  test('expands the macros and treats day 7 as Sunday', () => {
    expect([...parsed('@daily').hours]).toEqual([0]);
    expect([...parsed('0 0 * * 7').daysOfWeek]).toEqual([0]);
    expect(parsed('@hourly').minutes.size).toBe(1);
  });

  test('explains what is wrong', () => {
    expect(parseCron('0 0 * *')).toBe(
      'has 4 field(s); a schedule has five: minute hour day-of-month month day-of-week',
    );
    expect(parseCron('61 * * * *')).toBe('minute "61" is not a value or range within 0-59');
    expect(parseCron('*/0 * * * *')).toBe('minute "*/0" has an invalid step');
    expect(parseCron('0 5-2 * * *')).toBe('hour "5-2" is not a value or range within 0-23');
  });
});

describe('cronLongestGap', () => {
  test('is the longest wait between two successive runs, in minutes', () => {
    expect(cronLongestGap(parsed('0 2 * * *'))).toBe(1440);
    expect(cronLongestGap(parsed('@hourly'))).toBe(60);
    expect(cronLongestGap(parsed('0 1,13 * * *'))).toBe(720);
    // 01:00 and 03:00: two hours apart, then 22 hours to the next day's first run.
    expect(cronLongestGap(parsed('0 1,3 * * *'))).toBe(1320);
    expect(cronLongestGap(parsed('30 4 * * 0'))).toBe(7 * 1440);
    // Weekdays only: Friday to Monday.
    expect(cronLongestGap(parsed('0 2 * * 1-5'))).toBe(3 * 1440);
    // The 31st: from 31 August to 31 October (61 days) is the longest.
    expect(cronLongestGap(parsed('0 0 31 * *'))).toBe(61 * 1440);
  });

  test('is undefined for a schedule that never runs', () => {
    expect(cronLongestGap(parsed('0 0 30 2 *'))).toBeUndefined();
  });
});

describe('cronOverlap', () => {
  test('finds runs that start within the window of each other', () => {
    const overlap = cronOverlap(parsed('0 2 * * *'), parsed('30 2 * * 0'), 60);
    expect(overlap).toEqual({
      a: '2028-01-02 02:00 UTC (Sunday)',
      b: '2028-01-02 02:30 UTC (Sunday)',
    });
  });

  test('sees a run that reaches past midnight into the next day', () => {
    expect(cronOverlap(parsed('50 23 * * *'), parsed('10 0 * * *'), 60)).toEqual({
      a: '2028-01-01 23:50 UTC (Saturday)',
      b: '2028-01-02 00:10 UTC (Sunday)',
    });
  });

  test('finds nothing for runs further apart than the window', () => {
    expect(cronOverlap(parsed('0 2 * * *'), parsed('0 4 * * 0'), 60)).toBeUndefined();
    expect(cronOverlap(parsed('*/10 * * * *'), parsed('5 3 * * *'), 5)).toBeUndefined();
  });

  test('finds the one day a monthly and a weekly schedule meet', () => {
    // The 1st of the month at 03:00 against Sundays at 03:00: first on Sunday 2028-10-01.
    expect(cronOverlap(parsed('0 3 1 * *'), parsed('0 3 * * 0'), 30)).toEqual({
      a: '2028-10-01 03:00 UTC (Sunday)',
      b: '2028-10-01 03:00 UTC (Sunday)',
    });
  });
});

/** The overlap walk written out day by day and run by run: what cronOverlap's tables must equal. */
function overlapDayByDay(
  a: ReturnType<typeof parsed>,
  b: ReturnType<typeof parsed>,
  window: number,
): { a: string; b: string } | undefined {
  const start = Date.UTC(2028, 0, 1);
  const starts = (schedule: ReturnType<typeof parsed>, day: number): number[] => {
    const date = new Date(start + day * 86_400_000);
    const dom = schedule.daysOfMonth.has(date.getUTCDate());
    const dow = schedule.daysOfWeek.has(date.getUTCDay());
    const runs =
      schedule.months.has(date.getUTCMonth() + 1) && (schedule.eitherDay ? dom || dow : dom && dow);
    if (!runs) return [];
    const out: number[] = [];
    for (const hour of schedule.hours) {
      for (const minute of schedule.minutes) out.push(day * 1440 + hour * 60 + minute);
    }
    return out;
  };
  const show = (minute: number): string => {
    const date = new Date(start + minute * 60_000);
    const weekday = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
    const two = (n: number) => String(n).padStart(2, '0');
    return `${date.getUTCFullYear()}-${two(date.getUTCMonth() + 1)}-${two(date.getUTCDate())} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())} UTC (${weekday[date.getUTCDay()]})`;
  };
  for (let day = 0; day < 7 * 365 + 2; day++) {
    const runsA = [...(day > 0 ? starts(a, day - 1) : []), ...starts(a, day)];
    const runsB = [...(day > 0 ? starts(b, day - 1) : []), ...starts(b, day)];
    // Every pair with at least one run on this day, A's runs in time order, the closest B first.
    for (const startA of runsA.sort((x, y) => x - y)) {
      const close = runsB
        .filter((startB) => startA >= day * 1440 || startB >= day * 1440)
        .filter((startB) => Math.abs(startA - startB) < window)
        .sort((x, y) => Math.abs(startA - x) - Math.abs(startA - y) || x - y);
      if (close.length > 0) return { a: show(startA), b: show(close[0] as number) };
    }
  }
  return undefined;
}

describe('cronOverlap against the day-by-day walk', () => {
  const field = (values: readonly string[]) => fc.constantFrom(...values);
  const schedule = fc
    .tuple(
      field(['0', '30', '45', '59', '*/20', '10,50']),
      field(['0', '2', '23', '*/6', '1-3', '22,23']),
      field(['*', '1', '15', '29', '31', '1-7']),
      field(['*', '2', '1,7', '2-3']),
      field(['*', '0', '1-5', '6', '3,5']),
    )
    .map((fields) => parsed(fields.join(' ')));

  test('finds the same first overlap, or none, for random schedules and windows', () => {
    fc.assert(
      fc.property(schedule, schedule, fc.integer({ min: 1, max: 1500 }), (a, b, window) => {
        expect(cronOverlap(a, b, window)).toEqual(overlapDayByDay(a, b, window));
      }),
      { numRuns: 300 },
    );
  });
});
