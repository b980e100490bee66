// Pure helpers of the catalog page, shared by the page and its unit tests (test/web-format.test.ts):
// periods printed as people write them, exact numbers with grouped digits, CSV, and a search that
// forgives small typos. Nothing here touches the DOM.

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * ISO 8601 week of a date: weeks start on Monday and week 1 holds the year's first Thursday, so
 * 2024-12-30 is 2025-W01 and 2021-01-03 is 2020-W53.
 * @param {number} year @param {number} month 1-12 @param {number} day
 * @returns {{ year: number, week: number }}
 */
export function isoWeek(year, month, day) {
  const date = new Date(Date.UTC(year, month - 1, day));
  const weekday = (date.getUTCDay() + 6) % 7; // Monday = 0
  date.setUTCDate(date.getUTCDate() - weekday + 3); // the Thursday of this week decides the year
  const weekYear = date.getUTCFullYear();
  const firstThursday = new Date(Date.UTC(weekYear, 0, 4));
  firstThursday.setUTCDate(firstThursday.getUTCDate() - ((firstThursday.getUTCDay() + 6) % 7) + 3);
  return { year: weekYear, week: 1 + Math.round((date.getTime() - firstThursday.getTime()) / (7 * 86_400_000)) };
}

/**
 * A period as people write it, from the start the API returns (`YYYY-MM-DD[ HH:MM:SS]`):
 * year 2024, quarter Q1 2024, month Jan 2024, ISO week 2024-W03, day 2024-03-05,
 * hour 2024-03-05 14:00. Text that is not a date (a custom grain's label) is shown as it is.
 * @param {string | null | undefined} text @param {string} grain
 */
export function periodLabel(text, grain) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}))?/.exec(text ?? '');
  if (!m) return text ?? '(none)';
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  switch (grain) {
    case 'year':
      return m[1];
    case 'quarter':
      return `Q${Math.floor((month - 1) / 3) + 1} ${m[1]}`;
    case 'month':
      return `${MONTHS[month - 1]} ${m[1]}`;
    case 'week': {
      const w = isoWeek(year, month, day);
      return `${w.year}-W${String(w.week).padStart(2, '0')}`;
    }
    case 'day':
      return `${m[1]}-${m[2]}-${m[3]}`;
    case 'hour':
      return `${m[1]}-${m[2]}-${m[3]} ${m[4] ?? '00'}:00`;
    default:
      return text;
  }
}

function groupDigits(digits) {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * A value for reading: integers and exact decimals keep every digit (they arrive as strings when
 * beyond 2^53 or decimal), digits are grouped by thousands; floats get at most 4 decimals.
 * @param {unknown} value
 */
export function formatValue(value) {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'number') {
    return Number.isInteger(value) ? groupDigits(String(value)) : value.toLocaleString('en-US', { maximumFractionDigits: 4 });
  }
  const m = /^(-?)(\d+)(\.\d+)?$/.exec(String(value));
  return m ? `${m[1]}${groupDigits(m[2])}${m[3] ?? ''}` : String(value);
}

const numberFormats = new Map();

/**
 * A metric's value in its display format (the definition's `format:` and `decimals:`, as the
 * catalog gives them: `{ kind: number | percent | currency, currency, decimals }`), by the same
 * rule as the CLI's tables (src/output.ts): percent 1 decimal unless told, a currency its own,
 * number at most 2. Intl reads decimal strings exactly. Without a format: formatValue.
 * @param {unknown} value @param {{ kind: string, currency?: string | null, decimals?: number | null } | null | undefined} format
 */
export function formatMetric(value, format) {
  if (!format) return formatValue(value);
  if (value === null || value === undefined) return '–';
  const numeric = (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value));
  if (!numeric) return String(value);
  const kind = format.kind.toLowerCase();
  const key = `${kind}:${format.currency ?? ''}:${format.decimals ?? ''}`;
  let nf = numberFormats.get(key);
  if (!nf) {
    const digits = format.decimals ?? (kind === 'percent' ? 1 : undefined);
    nf = new Intl.NumberFormat('en-US', {
      style: kind === 'number' ? 'decimal' : kind,
      ...(format.currency ? { currency: format.currency } : {}),
      ...(digits !== undefined && digits !== null ? { minimumFractionDigits: digits, maximumFractionDigits: digits } : kind === 'number' ? { maximumFractionDigits: 2 } : {}),
    });
    numberFormats.set(key, nf);
  }
  return nf.format(value);
}

/**
 * The relative change from `before` to `now` as a fraction (0.052 = +5.2%); null when either is
 * missing or `before` is 0 (a change from nothing has no ratio).
 * @param {unknown} now @param {unknown} before
 */
export function relativeChange(now, before) {
  if (now === null || now === undefined || before === null || before === undefined) return null;
  const a = Number(now);
  const b = Number(before);
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return (a - b) / Math.abs(b);
}

/** A change as a signed percentage with one decimal: +5.2%, −3.0%, or – when there is none. */
export function formatChange(change) {
  if (change === null || change === undefined) return '–';
  const percent = (change * 100).toFixed(1);
  return change > 0 ? `+${percent}%` : change < 0 ? `−${percent.slice(1)}%` : '0.0%';
}

/**
 * RFC 4180 CSV of an answer: a header of column names, then one line per row. Values are written
 * exactly as the API sent them (no rounding); a field with a comma, quote or line break is quoted.
 * @param {string[]} columns @param {Record<string, unknown>[]} rows
 */
export function toCsv(columns, rows) {
  const field = (value) => {
    const text = value === null || value === undefined ? '' : String(value);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [columns, ...rows.map((row) => columns.map((c) => row[c]))].map((line) => line.map(field).join(',')).join('\r\n') + '\r\n';
}

/**
 * Optimal string alignment distance (Levenshtein plus swapping two neighbours), so `revnue`,
 * `reveune` and `revenu` are each one edit from `revenue`.
 * @param {string} a @param {string} b
 */
export function editDistance(a, b) {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** Typos forgiven for a word of this length: none below 4 letters, one up to 7, two from 8. */
function allowedEdits(word) {
  return word.length < 4 ? 0 : word.length < 8 ? 1 : 2;
}

/**
 * Whether every search word is found in the text: as a substring, or as a word (or the start of
 * one) within a few typos of it. Case-insensitive.
 * @param {string} text @param {string[]} words lower-case search words
 */
export function fuzzyMatches(text, words) {
  const haystack = text.toLowerCase();
  const tokens = haystack.split(/[^a-z0-9]+/).filter(Boolean);
  return words.every((word) => {
    if (haystack.includes(word)) return true;
    const edits = allowedEdits(word);
    if (edits === 0) return false;
    return tokens.some((token) => editDistance(word, token) <= edits || (token.length > word.length && editDistance(word, token.slice(0, word.length)) <= edits));
  });
}
