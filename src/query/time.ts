/**
 * Calendar arithmetic on the request's time range, done in code so that the SQL holds plain
 * literals. Times are wall-clock times in the request's time zone ('YYYY-MM-DD HH:MM:SS').
 */
import type { Grain } from '../definitions/schema.js';
import { TallyError } from '../errors.js';

/**
 * A UTC instant from calendar fields, like `Date.UTC` but exact for the years 0000–0099 too
 * (`Date.UTC` reads a year below 100 as 1900 + year, so 0050 would become 1950). Months, days and
 * the time fields may overflow and carry as in `Date.UTC`.
 */
function utc(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): Date {
  const date = new Date(0);
  date.setUTCFullYear(y, mo, d);
  date.setUTCHours(h, mi, s, ms);
  return date;
}

export function parseTime(text: string, what: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (!m) throw new TallyError('INVALID_REQUEST', `${what} '${text}' is not a date; use 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS'`);
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number);
  const date = utc(y, mo - 1, d, h, mi, s);
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    throw new TallyError('INVALID_REQUEST', `${what} '${text}' is not a real calendar time`);
  }
  return date;
}

export function isDateOnly(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text);
}

export function truncate(date: Date, grain: Grain): Date {
  const y = date.getUTCFullYear();
  const m = date.getUTCMonth();
  switch (grain) {
    case 'millisecond':
      return new Date(date.getTime());
    case 'second':
      return new Date(Math.floor(date.getTime() / 1000) * 1000);
    case 'minute':
      return new Date(Math.floor(date.getTime() / 60_000) * 60_000);
    case 'hour':
      return utc(y, m, date.getUTCDate(), date.getUTCHours());
    case 'day':
      return utc(y, m, date.getUTCDate());
    case 'week': {
      const day = utc(y, m, date.getUTCDate());
      const isoDow = (day.getUTCDay() + 6) % 7; // Monday = 0
      return new Date(day.getTime() - isoDow * 86_400_000);
    }
    case 'month':
      return utc(y, m, 1);
    case 'quarter':
      return utc(y, m - (m % 3), 1);
    case 'year':
      return utc(y, 0, 1);
  }
}

/**
 * `date` moved by `count` periods of `grain`, as SQL's `date + INTERVAL` does: a month, quarter
 * or year step that lands past the end of a shorter month is clamped to that month's last day
 * (March 31 - 1 month is February 28), where `add` rolls over (to March 3). Used where a bound
 * must match the window SQL evaluates (a trailing window's first day).
 */
export function addClamped(date: Date, count: number, grain: Grain): Date {
  if (grain !== 'month' && grain !== 'quarter' && grain !== 'year') return add(date, count, grain);
  const months = count * (grain === 'month' ? 1 : grain === 'quarter' ? 3 : 12);
  const lastDay = utc(date.getUTCFullYear(), date.getUTCMonth() + months + 1, 0).getUTCDate();
  return utc(date.getUTCFullYear(), date.getUTCMonth() + months, Math.min(date.getUTCDate(), lastDay), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds(), date.getUTCMilliseconds());
}

/** `date` moved by `count` periods of `grain`; a month step past a shorter month's end rolls over into the next month (see addClamped). */
export function add(date: Date, count: number, grain: Grain): Date {
  switch (grain) {
    case 'millisecond':
      return new Date(date.getTime() + count);
    case 'second':
      return new Date(date.getTime() + count * 1000);
    case 'minute':
      return new Date(date.getTime() + count * 60_000);
    case 'hour':
      return new Date(date.getTime() + count * 3_600_000);
    case 'day':
      return new Date(date.getTime() + count * 86_400_000);
    case 'week':
      return new Date(date.getTime() + count * 7 * 86_400_000);
    case 'month':
    case 'quarter':
    case 'year': {
      const months = count * (grain === 'month' ? 1 : grain === 'quarter' ? 3 : 12);
      return utc(date.getUTCFullYear(), date.getUTCMonth() + months, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds(), date.getUTCMilliseconds());
    }
  }
}

export function formatTime(date: Date): string {
  const t = date.getTime();
  let text = formatted.get(t);
  if (text === undefined) {
    const iso = date.toISOString();
    text = `${iso.slice(0, 10)} ${iso.slice(11, date.getUTCMilliseconds() ? 23 : 19)}`;
    if (formatted.size >= 10_000) formatted.clear();
    formatted.set(t, text);
  }
  return text;
}
/** Times already formatted: a request's bounds recur in every CTE of its statement, and across requests. */
const formatted = new Map<number, string>();

/**
 * The request's range widened to whole periods of the grain: [start, end). A date-only `to`
 * includes that whole day at every grain (every hour and minute of it); a time `to` includes the
 * period of the grain it falls in.
 */
export function snapRange(from: string | undefined, to: string | undefined, grain: Grain): { start?: Date; end?: Date } {
  const start = from === undefined ? undefined : truncate(parseTime(from, 'from'), grain);
  let end: Date | undefined;
  if (to !== undefined) {
    const t = parseTime(to, 'to');
    // The last instant the range includes: the day's last millisecond for a date.
    const last = isDateOnly(to) ? add(add(t, 1, 'day'), -1, 'millisecond') : t;
    end = add(truncate(last, grain), 1, grain);
  }
  if (start && end && start >= end) {
    throw new TallyError('INVALID_REQUEST', `the time range is empty: 'from' (${from}) is after 'to' (${to})`);
  }
  return { start, end };
}
