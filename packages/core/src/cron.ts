// Five-field cron schedules (minute hour day-of-month month day-of-week), as Kubernetes CronJobs,
// VolSync and Longhorn RecurringJobs read them (robfig/cron's standard parser): numbers, `*`,
// ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`, month and weekday names, and the macros
// `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`. Pure: the
// overlap test walks a fixed span of calendar days, never the clock.

/** A parsed schedule: the allowed values of each field. */
export interface CronSchedule {
  readonly text: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly daysOfWeek: ReadonlySet<number>;
  /** Day-of-month and day-of-week both restricted: a day matches when either does (cron's rule). */
  readonly eitherDay: boolean;
}

const MACROS: { readonly [macro: string]: string } = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface Field {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Offset of names[0] (months start at 1). */
  readonly nameBase?: number;
}

const FIELDS: readonly Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  // 7 is Sunday too.
  { name: 'day of week', min: 0, max: 7, names: DAYS, nameBase: 0 },
];

function value(field: Field, text: string): number | undefined {
  const lower = text.toLowerCase();
  const named = field.names?.indexOf(lower) ?? -1;
  if (named >= 0) return named + (field.nameBase ?? 0);
  if (!/^\d+$/.test(text)) return undefined;
  const number = Number(text);
  return number >= field.min && number <= field.max ? number : undefined;
}

function parseField(field: Field, text: string): Set<number> | string {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/');
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) {
        return `${field.name} "${part}" has an invalid step`;
      }
      step = Number(stepText);
    }
    let low: number | undefined;
    let high: number | undefined;
    if (range === '*' || range === '?') {
      low = field.min;
      high = field.max;
    } else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      low = value(field, a);
      high = value(field, b);
    } else {
      low = value(field, range);
      high = stepText === undefined ? low : field.max;
    }
    if (low === undefined || high === undefined || low > high) {
      return `${field.name} "${part}" is not a value or range within ${field.min}-${field.max}`;
    }
    for (let v = low; v <= high; v += step) out.add(v);
  }
  return out;
}

/** Parses a schedule; a string explains what is wrong. */
export function parseCron(text: string): CronSchedule | string {
  const trimmed = text.trim();
  const expanded = MACROS[trimmed.toLowerCase()] ?? trimmed;
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5) {
    return `has ${parts.length} field(s); a schedule has five: minute hour day-of-month month day-of-week`;
  }
  const sets: Set<number>[] = [];
  for (const [i, field] of FIELDS.entries()) {
    const parsed = parseField(field, parts[i] as string);
    if (typeof parsed === 'string') return parsed;
    sets.push(parsed);
  }
  const [minutes, hours, daysOfMonth, months, rawDays] = sets as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  const daysOfWeek = new Set([...rawDays].map((day) => day % 7));
  return {
    text,
    minutes,
    hours,
    daysOfMonth,
    months,
    daysOfWeek,
    eitherDay: parts[2] !== '*' && parts[2] !== '?' && parts[4] !== '*' && parts[4] !== '?',
  };
}

/** A day of the proleptic Gregorian calendar, from days since 1970-01-01 (UTC). */
function civil(days: number): { month: number; day: number; weekday: number } {
  const date = new Date(days * 86_400_000);
  return {
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    weekday: date.getUTCDay(),
  };
}

function runsOn(schedule: CronSchedule, date: { month: number; day: number; weekday: number }) {
  if (!schedule.months.has(date.month)) return false;
  const dom = schedule.daysOfMonth.has(date.day);
  const dow = schedule.daysOfWeek.has(date.weekday);
  return schedule.eitherDay ? dom || dow : dom && dow;
}

/** First day of the span the overlap test walks: 2028-01-01 (a leap year). */
const SPAN_START = Date.UTC(2028, 0, 1) / 86_400_000;
/** Seven years: every weekday falls on every date of every month, and two 29ths of February. */
const SPAN_DAYS = 7 * 365 + 2;

const dayMinutes = new WeakMap<CronSchedule, readonly number[]>();

/** Minutes of the day the schedule starts a run at, sorted. */
function minutesOfDay(schedule: CronSchedule): readonly number[] {
  let out = dayMinutes.get(schedule);
  if (out === undefined) {
    const list: number[] = [];
    for (const hour of schedule.hours) {
      for (const minute of schedule.minutes) list.push(hour * 60 + minute);
    }
    out = list.sort((a, b) => a - b);
    dayMinutes.set(schedule, out);
  }
  return out;
}

let spanDates: readonly ReturnType<typeof civil>[] | undefined;

/** The calendar date of `day` of the span (the span's dates are computed once). */
function spanDate(day: number): ReturnType<typeof civil> {
  spanDates ??= Array.from({ length: SPAN_DAYS }, (_, index) => civil(SPAN_START + index));
  return spanDates[day] as ReturnType<typeof civil>;
}

/** Start minutes (since SPAN_START) of the schedule's runs on `day` of the span. */
function startsOn(schedule: CronSchedule, day: number): number[] {
  if (!runsOn(schedule, spanDate(day))) return [];
  return minutesOfDay(schedule).map((minute) => day * 1440 + minute);
}

const spanDays = new WeakMap<CronSchedule, Uint8Array>();

/** Per day of the span, 1 when the schedule runs that day (computed once per schedule). */
function runDays(schedule: CronSchedule): Uint8Array {
  let days = spanDays.get(schedule);
  if (days === undefined) {
    days = new Uint8Array(SPAN_DAYS);
    for (let day = 0; day < SPAN_DAYS; day++) days[day] = runsOn(schedule, spanDate(day)) ? 1 : 0;
    spanDays.set(schedule, days);
  }
  return days;
}

/** Whether a run starting at one of `first` is within `window` of one at `second` + `shift`. */
function near(
  first: readonly number[],
  second: readonly number[],
  shift: number,
  window: number,
): boolean {
  for (const start of second) {
    const closest = nearest(first, start + shift);
    if (closest !== undefined && Math.abs(start + shift - closest) < window) return true;
  }
  return false;
}

/**
 * The first time two schedules' runs overlap when each run lasts `window` minutes (a run of one
 * starts while a run of the other is still going), as `{ a, b }` start times in minutes since
 * the start of a week-aligned span, or `undefined` when they never do. Walks seven calendar years.
 *
 * A schedule starts at the same minutes on every day it runs, so whether runs overlap on a day
 * depends only on which of the two schedules run that day and the day before. The three
 * minute-level answers (both on the same day; A the day before and B this day; B the day before
 * and A this day) are computed once, then the days are walked on the schedules' run-day tables;
 * the first day with an overlap is compared run by run for its start times.
 */
export function cronOverlap(
  a: CronSchedule,
  b: CronSchedule,
  window: number,
): { readonly a: string; readonly b: string } | undefined {
  const minutesA = minutesOfDay(a);
  const minutesB = minutesOfDay(b);
  const sameDay = near(minutesB, minutesA, 0, window);
  const aThenB = near(minutesA, minutesB, 1440, window);
  const bThenA = near(minutesB, minutesA, 1440, window);
  if (!sameDay && !aThenB && !bThenA) return undefined;
  const daysA = runDays(a);
  const daysB = runDays(b);
  for (let day = 0; day < SPAN_DAYS; day++) {
    const runsA = daysA[day] === 1;
    const runsB = daysB[day] === 1;
    const ranA = day > 0 && daysA[day - 1] === 1;
    const ranB = day > 0 && daysB[day - 1] === 1;
    if ((sameDay && runsA && runsB) || (aThenB && ranA && runsB) || (bThenA && ranB && runsA)) {
      return overlapOn(a, b, day, window);
    }
  }
  return undefined;
}

/** The first overlapping runs of `day` (a day with an overlap): A's runs in order, B's nearest. */
function overlapOn(
  a: CronSchedule,
  b: CronSchedule,
  day: number,
  window: number,
): { readonly a: string; readonly b: string } | undefined {
  const previousA = day > 0 ? startsOn(a, day - 1) : [];
  const previousB = day > 0 ? startsOn(b, day - 1) : [];
  const candidatesB = [...previousB, ...startsOn(b, day)];
  for (const startA of [...previousA, ...startsOn(a, day)]) {
    const near = nearest(candidatesB, startA);
    if (near === undefined) continue;
    if (startA < day * 1440 && near < day * 1440) continue;
    if (Math.abs(startA - near) < window) return { a: describe(startA), b: describe(near) };
  }
  return undefined;
}

/** The value of the sorted list closest to `x`. */
function nearest(sorted: readonly number[], x: number): number | undefined {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if ((sorted[mid] as number) < x) low = mid + 1;
    else high = mid;
  }
  const after = sorted[low];
  const before = sorted[low - 1];
  if (after === undefined) return before;
  if (before === undefined) return after;
  return x - before <= after - x ? before : after;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** `2028-03-05 02:30 UTC (Sunday)`. */
function describe(minute: number): string {
  const date = new Date((SPAN_START * 1440 + minute) * 60_000);
  const weekday = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][
    date.getUTCDay()
  ];
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC (${weekday})`;
}

/**
 * The longest time, in minutes, between two successive runs of the schedule (over the same
 * seven-year span as the overlap test, so every calendar combination is seen), or `undefined`
 * when the schedule runs fewer than twice in that span (`0 0 30 2 *` never runs).
 */
export function cronLongestGap(schedule: CronSchedule): number | undefined {
  const minutes = minutesOfDay(schedule);
  const days = runDays(schedule);
  const first = minutes[0];
  const last = minutes[minutes.length - 1];
  if (first === undefined || last === undefined) return undefined;
  let withinDay = 0;
  for (let i = 1; i < minutes.length; i++) {
    withinDay = Math.max(withinDay, (minutes[i] as number) - (minutes[i - 1] as number));
  }
  let longest: number | undefined;
  let previousDay: number | undefined;
  for (let day = 0; day < SPAN_DAYS; day++) {
    if (days[day] !== 1) continue;
    if (previousDay !== undefined) {
      const across = (day - previousDay) * 1440 + first - last;
      longest = Math.max(longest ?? 0, across);
    }
    if (minutes.length > 1) longest = Math.max(longest ?? 0, withinDay);
    previousDay = day;
  }
  return longest;
}
