import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { cronLongestGap, cronOverlap, parseCron } from './cron.js';

function parsedSchedule(text: string) {
  const schedule = parseCron(text);
  if ('message' in schedule) throw new Error(`${text}: ${schedule.message}`);
  return schedule;
}
const parsed = parsedSchedule;

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

  test('expands the descriptors robfig/cron and VolSync both take', () => {
    expect([...parsed('@daily').hours]).toEqual([0]);
    expect([...parsed('@weekly').daysOfWeek]).toEqual([0]);
    expect(parsed('@hourly').minutes.size).toBe(1);
    expect([...parsed('@annually').months]).toEqual([1]);
  });

  test('explains what is wrong', () => {
    expect(parseCron('0 0 * *')).toEqual({
      message: 'is not a cron schedule: it has 4 field(s)',
      expected:
        'five fields: minute hour day-of-month month day-of-week, or one of @yearly, @annually, @monthly, @weekly, @daily, @hourly',
    });
    expect(parseCron('61 * * * *')).toMatchObject({
      message: 'is not a cron schedule: minute "61" is not a value or range within 0-59',
    });
    expect(parseCron('*/0 * * * *')).toMatchObject({
      message: 'is not a cron schedule: minute "*/0" has an invalid step',
    });
    expect(parseCron('0 5-2 * * *')).toMatchObject({
      message: 'is not a cron schedule: hour "5-2" is not a value or range within 0-23',
    });
  });

  test('refuses day of week 7, which robfig/cron bounds at 6, with Sunday as 0 for a hint', () => {
    for (const text of ['0 2 * * 7', '0 2 * * 5-7', '0 2 * * 1,7']) {
      const part = text.split(' ')[4] ?? '';
      expect(parseCron(text)).toEqual({
        message: `is not a cron schedule: day of week "${part.split(',').pop()}" holds 7, but robfig/cron (which Kubernetes CronJobs and VolSync parse schedules with) takes days of the week 0-6 only`,
        expected:
          'five fields: minute hour day-of-month month day-of-week, Sunday being 0 or sun, e.g. 0 2 * * 0',
      });
    }
    expect([...parsed('0 2 * * 0').daysOfWeek]).toEqual([0]);
    expect([...parsed('0 2 * * */7').daysOfWeek]).toEqual([0]);
  });

  test('refuses what robfig/cron refuses: extra hyphens or slashes, upper-case descriptors, a time zone', () => {
    expect(parseCron('0 1-2-3 * * *')).toMatchObject({
      message: 'is not a cron schedule: hour "1-2-3" has more than one "-"',
    });
    expect(parseCron('*/2/3 * * * *')).toMatchObject({
      message: 'is not a cron schedule: minute "*/2/3" has more than one "/"',
    });
    expect(parseCron('@DAILY')).toEqual({
      message: 'is not a cron schedule: robfig/cron matches descriptors in lower case only',
      expected: '@daily',
    });
    expect(parseCron('@nightly')).toMatchObject({
      message: 'is not a cron schedule: @nightly is not a descriptor',
    });
    expect(parseCron('CRON_TZ=Europe/Berlin 0 2 * * *')).toMatchObject({
      message:
        'is not a cron schedule: it starts with a time zone, which Kubernetes refuses in a CronJob schedule (and VolSync in a ReplicationSource); schedules here are UTC',
    });
  });

  test('refuses the descriptors VolSync does not take, @midnight and @every', () => {
    expect(parseCron('@midnight')).toEqual({
      message:
        "is not taken by VolSync's ReplicationSource CRD, whose schedule pattern lists only @annually, @yearly, @monthly, @weekly, @daily and @hourly",
      expected: '@daily (the same time: 00:00 UTC every day)',
    });
    expect(parseCron('@every 1h')).toMatchObject({
      message:
        "is an @every interval, which runs at intervals from whenever the controller started rather than at times of the day, and VolSync's ReplicationSource CRD refuses it",
    });
  });

  test('refuses a schedule that never fires: days that none of its months has', () => {
    const expected = 'a day of the month that exists in one of its months';
    expect(parseCron('0 2 31 2 *')).toEqual({
      message:
        'never fires: February has no day 31; robfig/cron accepts such a schedule and never runs it',
      expected,
    });
    expect(parseCron('0 2 30,31 feb *')).toMatchObject({
      message:
        'never fires: February has no day 30 or 31; robfig/cron accepts such a schedule and never runs it',
    });
    expect(parseCron('0 2 31 4,6,9,11 *')).toMatchObject({
      message:
        'never fires: April, June, September and November have no day 31; robfig/cron accepts such a schedule and never runs it',
    });
    // A star with step 1 keeps robfig/cron's "every day of the week": still both must match.
    expect(parseCron('0 2 31 2 */1')).toMatchObject({ expected });
    // February 29 comes every four years; a weekday list makes either day match.
    expect(parsed('0 2 29 2 *').daysOfMonth.has(29)).toBe(true);
    expect(parsed('0 2 31 2 mon').eitherDay).toBe(true);
  });

  test('follows robfig/cron on which day field restricts: a star with step 1 does not', () => {
    expect(parsed('0 0 */1 * 1').eitherDay).toBe(false);
    expect(parsed('0 0 */2 * 1').eitherDay).toBe(true);
    expect(parsed('0 0 ? * 1').eitherDay).toBe(false);
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

  test('is undefined for a schedule that never runs (one parseCron refuses, built by hand)', () => {
    const never = { ...parsed('0 0 28 2 *'), daysOfMonth: new Set([30]) };
    expect(cronLongestGap(never)).toBeUndefined();
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
    // Some never fire (31 in February alone): parseCron refuses those.
    .map((fields) => parseCron(fields.join(' ')))
    .filter((parsed): parsed is ReturnType<typeof parsedSchedule> => !('message' in parsed));

  test('finds the same first overlap, or none, for random schedules and windows', () => {
    fc.assert(
      fc.property(schedule, schedule, fc.integer({ min: 1, max: 1500 }), (a, b, window) => {
        expect(cronOverlap(a, b, window)).toEqual(overlapDayByDay(a, b, window));
      }),
      { numRuns: 300 },
    );
  });
});
