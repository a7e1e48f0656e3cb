import { describe, expect, test } from 'vitest';
import { cronOverlap, parseCron } from './cron.js';

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
