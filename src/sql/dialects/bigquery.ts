/**
 * Google BigQuery (GoogleSQL). Naive UTC timestamps are DATETIME values here: a TIMESTAMP
 * column is cast to DATETIME at UTC, which is what Tally's time semantics assume.
 */
import { GRAIN_ORDER, type Grain } from '../../definitions/schema.js';
import type { Dialect } from '../dialect.js';
import { aggregateWith, derivedTable, lowerLike, nullSkippingExtreme, unsupported } from './common.js';

/** GoogleSQL string literals read backslash escapes and cannot hold a raw line break. */
function bqString(value: string): string {
  const escaped = value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  return `'${escaped}'`;
}

/**
 * Column names in BigQuery may not contain '.', so `metric_time.day` is spelled
 * `metric_time__day` in the result (the library and CLI name columns by position, not by this).
 */
function bqIdentifier(name: string): string {
  return `\`${name.replace(/\./g, '__').replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

const PART = { millisecond: 'MILLISECOND', second: 'SECOND', minute: 'MINUTE', hour: 'HOUR', day: 'DAY', week: 'WEEK', month: 'MONTH', quarter: 'QUARTER', year: 'YEAR' } as const;

export const bigquery: Dialect = {
  name: 'bigquery',
  quoteIdentifier: bqIdentifier,
  stringLiteral: bqString,
  timestampLiteral: (v) => `DATETIME ${bqString(v)}`,
  dateLiteral: (v) => `DATE ${bqString(v)}`,
  // WEEK would start on Sunday; ISOWEEK starts on Monday.
  truncate: (grain, arg) => `DATETIME_TRUNC(${arg}, ${grain === 'week' ? 'ISOWEEK' : PART[grain]})`,
  extract: (part, arg) => {
    switch (part) {
      case 'week':
        return `EXTRACT(ISOWEEK FROM ${arg})`;
      // DAYOFWEEK counts from Sunday = 1; ISO counts from Monday = 1.
      case 'dow':
        return `MOD(EXTRACT(DAYOFWEEK FROM ${arg}) + 5, 7) + 1`;
      case 'doy':
        return `EXTRACT(DAYOFYEAR FROM ${arg})`;
      default:
        return `EXTRACT(${part.toUpperCase()} FROM ${arg})`;
    }
  },
  toZone: (zone, arg) => `DATETIME(TIMESTAMP(${arg}, 'UTC'), ${bqString(zone)})`,
  addInterval: (arg, count, grain) =>
    count >= 0 ? `DATETIME_ADD(${arg}, INTERVAL ${count} ${PART[grain]})` : `DATETIME_SUB(${arg}, INTERVAL ${-count} ${PART[grain]})`,
  castTimestamp: (arg) => `CAST(${arg} AS DATETIME)`,
  tryCast: (arg, to) => `SAFE_CAST(${arg} AS ${to === 'text' ? 'STRING' : to === 'number' ? 'FLOAT64' : 'BOOL'})`,
  castDate: (arg) => `CAST(${arg} AS DATE)`,
  // BigQuery's whole numbers are INT64 (it has no BIGINT type name in CAST).
  countType: 'INT64',
  aggregate: aggregateWith({
    dialect: 'bigquery',
    filterClause: false,
    double: 'FLOAT64',
    median: () => unsupported('bigquery', 'an exact median', 'BigQuery has PERCENTILE_CONT only as a window function and APPROX_QUANTILES only approximates'),
    percentile: () =>
      unsupported('bigquery', 'an exact percentile', 'BigQuery has PERCENTILE_CONT / PERCENTILE_DISC only as window functions and APPROX_QUANTILES only approximates (set approximate: true on the measure to use it)'),
    // 1000 quantiles: the percentile to the nearest 0.1%.
    approximatePercentile: (arg, fraction) => `APPROX_QUANTILES(${arg}, 1000)[OFFSET(${Math.round(fraction * 1000)})]`,
  }),
  ratio: (n, d) => `CAST(${n} AS FLOAT64) / NULLIF(${d}, 0)`,
  // INT64 / INT64 is already FLOAT64, but NUMERIC / NUMERIC stays NUMERIC; DuckDB's / is a double.
  divide: (l, r) => `CAST(${l} AS FLOAT64) / ${r}`,
  modulo: (l, r) => `MOD(${l}, ${r})`,
  like: lowerLike,
  likeBackslashEscapes: true,
  call: nullSkippingExtreme,
  textMatch: (arg, value, at) => (at === 'anywhere' ? `STRPOS(${arg}, ${value}) > 0` : `${at === 'start' ? 'STARTS_WITH' : 'ENDS_WITH'}(${arg}, ${value})`),
  // GENERATE_DATE_ARRAY steps by calendar units; finer grains need GENERATE_TIMESTAMP_ARRAY (UTC, so no DST gaps).
  series: (start, stop, grain, alias, column, pad = '') => {
    const subDay = GRAIN_ORDER[grain] < GRAIN_ORDER.day;
    const generated = subDay
      ? `UNNEST(GENERATE_TIMESTAMP_ARRAY(TIMESTAMP(bounds.lo, 'UTC'), TIMESTAMP(bounds.hi, 'UTC'), INTERVAL 1 ${PART[grain]})) AS period_start`
      : `UNNEST(GENERATE_DATE_ARRAY(DATE(bounds.lo), DATE(bounds.hi), INTERVAL 1 ${PART[grain]})) AS period_start`;
    const value = subDay ? `DATETIME(period_start, 'UTC')` : 'CAST(period_start AS DATETIME)';
    return derivedTable(pad, [`SELECT ${value} AS ${column}`, `FROM (SELECT ${start} AS lo, ${stop} AS hi) AS bounds,`, `  ${generated}`], alias);
  },
};
