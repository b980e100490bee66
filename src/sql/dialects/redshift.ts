/**
 * Amazon Redshift. Its generate_series runs only on the leader node and cannot be joined to
 * tables, so the time spine counts periods with a numbers table made of digits: up to 10^6
 * periods, 114 years of hours. That is too few for minutes or finer, which are refused rather
 * than silently cut short.
 */
import { GRAIN_ORDER } from '../../definitions/schema.js';
import type { Dialect } from '../dialect.js';
import { aggregateWith, ansiIdentifier, backslashString, derivedTable, orderedSetPercentile, periodUnit, unsupported, regexTryCast } from './common.js';

const DIGITS = `(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)`;
const PLACES = 6;

/** The lines of a SELECT of 0 … 10^PLACES - 1 as column n. */
function numbers(): string[] {
  const terms = Array.from({ length: PLACES }, (_, i) => (i === 0 ? 'd0.d' : `${10 ** i} * d${i}.d`));
  return [`SELECT ${terms.join(' + ')} AS n`, `FROM ${DIGITS} AS d0`, ...Array.from({ length: PLACES - 1 }, (_, i) => `CROSS JOIN ${DIGITS} AS d${i + 1}`)];
}

export const redshift: Dialect = {
  name: 'redshift',
  // "within group ORDER BY clauses for aggregate functions must be the same" in one SELECT.
  sortedAggregatesApart: true,
  quoteIdentifier: ansiIdentifier,
  stringLiteral: backslashString,
  timestampLiteral: (v) => `CAST(${backslashString(v)} AS TIMESTAMP)`,
  dateLiteral: (v) => `CAST(${backslashString(v)} AS DATE)`,
  // DATE_TRUNC('week', …) returns the Monday of the week.
  truncate: (grain, arg) => `DATE_TRUNC('${grain}', ${arg})`,
  // Redshift's dow counts from Sunday = 0; ISO counts from Monday = 1.
  extract: (part, arg) =>
    part === 'dow'
      ? `CAST(CASE WHEN EXTRACT(dow FROM ${arg}) = 0 THEN 7 ELSE EXTRACT(dow FROM ${arg}) END AS BIGINT)`
      : `CAST(EXTRACT(${part} FROM ${arg}) AS BIGINT)`,
  toZone: (zone, arg) => `CONVERT_TIMEZONE('UTC', ${backslashString(zone)}, ${arg})`,
  addInterval: (arg, count, grain) => `DATEADD(${grain}, ${count}, ${arg})`,
  castTimestamp: (arg) => `CAST(${arg} AS TIMESTAMP)`,
  tryCast: (arg, to) => regexTryCast(arg, to, 'VARCHAR', 'DOUBLE PRECISION'),
  castDate: (arg) => `CAST(${arg} AS DATE)`,
  aggregate: aggregateWith({
    dialect: 'redshift',
    filterClause: false,
    // Redshift's AVG of an integer column is an integer; the cast keeps the fraction.
    double: 'DOUBLE PRECISION',
    median: (arg) => `MEDIAN(${arg})`,
    percentile: (arg, fraction, discrete) =>
      discrete
        ? unsupported('redshift', 'a discrete percentile', 'Redshift has PERCENTILE_DISC only as a window function and APPROXIMATE PERCENTILE_DISC only approximates')
        : orderedSetPercentile(arg, fraction, false),
    // No approximatePercentile: Redshift's APPROXIMATE PERCENTILE_DISC is a discrete percentile (a
    // different statistic from the continuous one asked for), so the exact PERCENTILE_CONT serves.
  }),
  ratio: (n, d) => `CAST(${n} AS DOUBLE PRECISION) / NULLIF(${d}, 0)`,
  // int / int truncates in Redshift; DuckDB's / is a floating-point quotient.
  divide: (l, r) => `CAST(${l} AS DOUBLE PRECISION) / ${r}`,
  likeBackslashEscapes: true,
  textMatch: (arg, value, at) =>
    at === 'anywhere' ? `POSITION(${value} IN ${arg}) > 0` : `${at === 'start' ? 'LEFT' : 'RIGHT'}(${arg}, CHAR_LENGTH(${value})) = ${value}`,
  // UNION ALL resolves column types pairwise, as in Postgres, so NULL ∪ NULL would become text.
  typedNull: (scalarQuery) => scalarQuery,
  series: (start, stop, grain, alias, column, pad = '') => {
    if (GRAIN_ORDER[grain] < GRAIN_ORDER.hour) {
      unsupported('redshift', `a time spine at ${grain} grain`, `its numbers table holds ${10 ** PLACES} periods, which may not cover the range; use hour or a coarser grain`);
    }
    const { unit, step } = periodUnit(grain);
    const count = step === 1 ? `DATEDIFF(${unit}, bounds.lo, bounds.hi)` : `DATEDIFF(${unit}, bounds.lo, bounds.hi) / ${step}`;
    const offset = step === 1 ? 'numbers.n' : `numbers.n * ${step}`;
    return derivedTable(
      pad,
      [
        `SELECT DATEADD(${unit}, ${offset}, bounds.lo) AS ${column}`,
        `FROM (SELECT ${start} AS lo, ${stop} AS hi) AS bounds`,
        `CROSS JOIN (`,
        ...numbers().map((l) => `  ${l}`),
        `) AS numbers`,
        `WHERE numbers.n <= ${count}`,
      ],
      alias,
    );
  },
};
