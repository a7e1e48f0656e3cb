// Five-field cron schedules (minute hour day-of-month month day-of-week), as Kubernetes CronJobs
// and VolSync read them: both parse with robfig/cron v3 (Kubernetes `cron.ParseStandard`, VolSync
// `cron.NewParser(Minute | Hour | Dom | Month | Dow | Descriptor)`), whose bounds are minute 0-59,
// hour 0-23, day of month 1-31, month 1-12 and day of week 0-6 (no 7 for Sunday). Numbers, `*`
// and `?`, ranges `a-b`, steps `*/n`, `a/n` and `a-b/n`, lists `a,b`, month and weekday names,
// and the descriptors `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@hourly` (lower
// case, as robfig/cron matches them). Not `@midnight`, which robfig/cron takes but VolSync's
// ReplicationSource CRD pattern does not, nor `@every <duration>` (an interval from whenever the
// controller started, not a time of day). A schedule whose days never come (`0 2 30 2 *`) is
// refused: robfig/cron accepts it and never runs it. Pure: the overlap test walks a fixed span of
// calendar days, never the clock.
/** A parsed schedule: the allowed values of each field. */
export interface CronSchedule {
  readonly text: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly daysOfWeek: ReadonlySet<number>;
  /**
   * Day-of-month and day-of-week both restricted: a day matches when either does (cron's rule).
   * robfig/cron counts a field as unrestricted when one of its items is `*` or `?` without a step
   * above 1 (its star bit): a star with step 1 is unrestricted, a star with step 2 is not.
   */
  readonly eitherDay: boolean;
}

/** Where a schedule goes wrong: the message (a predicate) and what was expected. */
export interface CronProblem {
  readonly message: string;
  readonly expected: string;
}

const MACROS: { readonly [macro: string]: string } = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const FIVE_FIELDS = 'five fields: minute hour day-of-month month day-of-week';
const SYNTAX = `${FIVE_FIELDS}, or one of ${Object.keys(MACROS).join(', ')}`;

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
  // robfig/cron's `dow` bounds are 0-6: a 7 (Sunday in some crons) is refused by both consumers.
  { name: 'day of week', min: 0, max: 6, names: DAYS, nameBase: 0 },
];

function value(field: Field, text: string): number | undefined {
  const lower = text.toLowerCase();
  const named = field.names?.indexOf(lower) ?? -1;
  if (named >= 0) return named + (field.nameBase ?? 0);
  if (!/^\d+$/.test(text)) return undefined;
  const number = Number(text);
  return number >= field.min && number <= field.max ? number : undefined;
}

interface ParsedField {
  readonly values: Set<number>;
  /** robfig/cron's star bit: an item `*` or `?` with no step above 1. */
  readonly star: boolean;
}

function parseField(field: Field, text: string): ParsedField | CronProblem {
  const out = new Set<number>();
  let star = false;
  const bad = (part: string, what: string): CronProblem => ({
    message: `is not a cron schedule: ${field.name} "${part}" ${what}`,
    expected: SYNTAX,
  });
  for (const part of text.split(',')) {
    const pieces = part.split('/');
    if (pieces.length > 2) return bad(part, 'has more than one "/"');
    const [range = '', stepText] = pieces;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0)
        return bad(part, 'has an invalid step');
      step = Number(stepText);
    }
    let low: number | undefined;
    let high: number | undefined;
    if (range === '*' || range === '?') {
      low = field.min;
      high = field.max;
      if (step === 1) star = true;
    } else if (range.includes('-')) {
      const ends = range.split('-');
      if (ends.length > 2) return bad(part, 'has more than one "-"');
      const [a = '', b = ''] = ends;
      low = value(field, a);
      high = value(field, b);
    } else {
      low = value(field, range);
      high = stepText === undefined ? low : field.max;
    }
    if (field.names === DAYS && /(^|[-/])7($|[-/])/.test(range)) {
      return {
        message: `is not a cron schedule: day of week "${part}" holds 7, but robfig/cron (which Kubernetes CronJobs and VolSync parse schedules with) takes days of the week 0-6 only`,
        expected: `${FIVE_FIELDS}, Sunday being 0 or sun, e.g. 0 2 * * 0`,
      };
    }
    if (low === undefined || high === undefined || low > high) {
      return bad(part, `is not a value or range within ${field.min}-${field.max}`);
    }
    for (let v = low; v <= high; v += step) out.add(v);
  }
  return { values: out, star };
}

/** The problem with a descriptor (`@…`) robfig/cron's descriptors or VolSync's CRD refuse. */
function descriptorProblem(text: string): CronProblem {
  if (text === '@midnight') {
    return {
      message:
        "is not taken by VolSync's ReplicationSource CRD, whose schedule pattern lists only @annually, @yearly, @monthly, @weekly, @daily and @hourly",
      expected: '@daily (the same time: 00:00 UTC every day)',
    };
  }
  if (text.startsWith('@every')) {
    return {
      message:
        "is an @every interval, which runs at intervals from whenever the controller started rather than at times of the day, and VolSync's ReplicationSource CRD refuses it",
      expected: `${SYNTAX}, e.g. 0 */6 * * * for every six hours`,
    };
  }
  if (MACROS[text.toLowerCase()] !== undefined) {
    return {
      message: `is not a cron schedule: robfig/cron matches descriptors in lower case only`,
      expected: text.toLowerCase(),
    };
  }
  return {
    message: `is not a cron schedule: ${text.split(/\s/)[0]} is not a descriptor`,
    expected: SYNTAX,
  };
}

/**
 * Parses a schedule; a problem says what is wrong (a syntax robfig/cron refuses, or days that
 * never come) and what was expected.
 */
export function parseCron(text: string): CronSchedule | CronProblem {
  const trimmed = text.trim();
  if (/^(CRON_)?TZ=/.test(trimmed)) {
    return {
      message:
        'is not a cron schedule: it starts with a time zone, which Kubernetes refuses in a CronJob schedule (and VolSync in a ReplicationSource); schedules here are UTC',
      expected: `${FIVE_FIELDS}, in UTC`,
    };
  }
  if (trimmed.startsWith('@') && MACROS[trimmed] === undefined) return descriptorProblem(trimmed);
  const expanded = MACROS[trimmed] ?? trimmed;
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5) {
    return { message: `is not a cron schedule: it has ${parts.length} field(s)`, expected: SYNTAX };
  }
  const fields: ParsedField[] = [];
  for (const [i, field] of FIELDS.entries()) {
    const parsed = parseField(field, parts[i] as string);
    if ('message' in parsed) return parsed;
    fields.push(parsed);
  }
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = fields as [
    ParsedField,
    ParsedField,
    ParsedField,
    ParsedField,
    ParsedField,
  ];
  const schedule: CronSchedule = {
    text,
    minutes: minutes.values,
    hours: hours.values,
    daysOfMonth: daysOfMonth.values,
    months: months.values,
    daysOfWeek: daysOfWeek.values,
    eitherDay: !daysOfMonth.star && !daysOfWeek.star,
  };
  if (!runDays(schedule).includes(1)) {
    return {
      message: `never fires: ${neverReason(schedule)}; robfig/cron accepts such a schedule and never runs it`,
      expected: 'a day of the month that exists in one of its months',
    };
  }
  return schedule;
}

const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** Why a schedule that never runs does not: its days of the month are in none of its months. */
function neverReason(schedule: CronSchedule): string {
  const days = [...schedule.daysOfMonth].sort((a, b) => a - b);
  const months = [...schedule.months].sort((a, b) => a - b);
  const names = months.map((m) => MONTH_NAMES[m - 1] as string);
  const list = (items: readonly (string | number)[], last: string) =>
    items.length < 2
      ? items.join('')
      : `${items.slice(0, -1).join(', ')} ${last} ${String(items[items.length - 1])}`;
  return `${list(names, 'and')} ${months.length === 1 ? 'has' : 'have'} no day ${list(days, 'or')}`;
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
