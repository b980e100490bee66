/**
 * Trino (and Starburst, Athena engine v3). Timestamps are TIMESTAMP(6): a plain TIMESTAMP is
 * TIMESTAMP(3) in Trino, and rounding microseconds could move a row into the next period.
 */
import type { Dialect } from '../dialect.js';
import { aggregateWith, ansiIdentifier, ansiString, derivedTable, lowerLike, nullSkippingExtreme, periodUnit, unsupported } from './common.js';

const STEP = { millisecond: "INTERVAL '0.001' SECOND", second: "INTERVAL '1' SECOND", minute: "INTERVAL '1' MINUTE", hour: "INTERVAL '1' HOUR", day: "INTERVAL '1' DAY", week: "INTERVAL '7' DAY", month: "INTERVAL '1' MONTH", quarter: "INTERVAL '3' MONTH", year: "INTERVAL '1' YEAR" } as const;

export const trino: Dialect = {
  name: 'trino',
  quoteIdentifier: ansiIdentifier,
  stringLiteral: ansiString,
  timestampLiteral: (v) => `TIMESTAMP ${ansiString(v)}`,
  dateLiteral: (v) => `DATE ${ansiString(v)}`,
  // date_trunc('week', …) is the ISO week, starting on Monday.
  truncate: (grain, arg) => `date_trunc(${ansiString(grain)}, ${arg})`,
  // week() is the ISO week and day_of_week() has Monday = 1, as in DuckDB.
  extract: (part, arg) => `${{ year: 'year', quarter: 'quarter', month: 'month', week: 'week', day: 'day', dow: 'day_of_week', doy: 'day_of_year' }[part]}(${arg})`,
  toZone: (zone, arg) => `CAST(with_timezone(${arg}, 'UTC') AT TIME ZONE ${ansiString(zone)} AS TIMESTAMP(6))`,
  addInterval: (arg, count, grain) => `date_add('${grain}', ${count}, ${arg})`,
  castTimestamp: (arg) => `CAST(${arg} AS TIMESTAMP(6))`,
  tryCast: (arg, to) => `TRY_CAST(${arg} AS ${to === 'text' ? 'VARCHAR' : to === 'number' ? 'DOUBLE' : 'BOOLEAN'})`,
  castDate: (arg) => `CAST(${arg} AS DATE)`,
  aggregate: aggregateWith({
    dialect: 'trino',
    filterClause: true,
    double: 'DOUBLE',
    median: () => unsupported('trino', 'an exact median', 'Trino only has approx_percentile'),
    percentile: () => unsupported('trino', 'an exact percentile', 'Trino only has approx_percentile (set approximate: true on the measure to use it)'),
    approximatePercentile: (arg, fraction) => `approx_percentile(${arg}, ${fraction})`,
  }),
  ratio: (n, d) => `CAST(${n} AS DOUBLE) / NULLIF(${d}, 0)`,
  // bigint / bigint truncates in Trino; DuckDB's / is a floating-point quotient.
  divide: (l, r) => `CAST(${l} AS DOUBLE) / ${r}`,
  // Trino has no ILIKE, and LIKE has no default escape character (as in DuckDB).
  like: lowerLike,
  call: nullSkippingExtreme,
  textMatch: (arg, value, at) =>
    at === 'anywhere' ? `strpos(${arg}, ${value}) > 0` : at === 'start' ? `starts_with(${arg}, ${value})` : `substr(${arg}, length(${arg}) - length(${value}) + 1) = ${value}`,
  // sequence() returns at most 10,000 elements, so period numbers are built as 10,000 * a + b.
  // sequence(0, n) counts down when n < 0 (an end before the start): greatest(…, 0) keeps it
  // counting up, and the WHERE then leaves no period, as in the other dialects.
  series: (start, stop, grain, alias, column, pad = '') => {
    const { unit, step } = periodUnit(grain);
    const count = `date_diff('${unit}', bounds.lo, bounds.hi)${step === 1 ? '' : ` / ${step}`}`;
    const n = 'high.n * 10000 + low.n';
    return derivedTable(
      pad,
      [
        `SELECT date_add('${unit}', ${step === 1 ? n : `(${n}) * ${step}`}, bounds.lo) AS ${column}`,
        `FROM (SELECT ${start} AS lo, ${stop} AS hi) AS bounds`,
        `CROSS JOIN UNNEST(sequence(0, greatest(${count}, 0) / 10000)) AS high(n)`,
        `CROSS JOIN UNNEST(sequence(0, 9999)) AS low(n)`,
        `WHERE ${n} <= ${count}`,
      ],
      alias,
    );
  },
};
