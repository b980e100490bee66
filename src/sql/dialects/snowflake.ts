/**
 * Snowflake. Naive UTC timestamps are TIMESTAMP_NTZ, named explicitly so that the account's
 * TIMESTAMP_TYPE_MAPPING does not matter; weeks are computed from DAYOFWEEKISO so that the
 * WEEK_START parameter does not matter either.
 */
import type { Dialect } from '../dialect.js';
import { aggregateWith, ansiIdentifier, backslashString, derivedTable, nullSkippingExtreme, orderedSetPercentile, periodUnit } from './common.js';

export const snowflake: Dialect = {
  name: 'snowflake',
  quoteIdentifier: ansiIdentifier,
  stringLiteral: backslashString,
  timestampLiteral: (v) => `CAST(${backslashString(v)} AS TIMESTAMP_NTZ)`,
  dateLiteral: (v) => `CAST(${backslashString(v)} AS DATE)`,
  truncate: (grain, arg) =>
    grain === 'week' ? `DATEADD(day, 1 - DAYOFWEEKISO(${arg}), DATE_TRUNC('day', ${arg}))` : `DATE_TRUNC('${grain}', ${arg})`,
  // WEEKISO and DAYOFWEEKISO do not depend on the WEEK_START parameter.
  extract: (part, arg) =>
    part === 'week' ? `WEEKISO(${arg})` : part === 'dow' ? `DAYOFWEEKISO(${arg})` : part === 'doy' ? `DAYOFYEAR(${arg})` : `EXTRACT(${part} FROM ${arg})`,
  toZone: (zone, arg) => `CONVERT_TIMEZONE('UTC', ${backslashString(zone)}, ${arg})`,
  addInterval: (arg, count, grain) => `DATEADD(${grain}, ${count}, ${arg})`,
  castTimestamp: (arg) => `CAST(${arg} AS TIMESTAMP_NTZ)`,
  tryCast: (arg, to) => (to === 'text' ? `TO_VARCHAR(${arg})` : `${to === 'number' ? 'TRY_TO_DOUBLE' : 'TRY_TO_BOOLEAN'}(TO_VARCHAR(${arg}))`),
  castDate: (arg) => `CAST(${arg} AS DATE)`,
  // Snowflake's COUNT is NUMBER(18,0); its BIGINT is NUMBER(38,0).
  countType: 'NUMBER(18,0)',
  aggregate: aggregateWith({
    dialect: 'snowflake',
    filterClause: false,
    double: 'DOUBLE',
    median: (arg) => `MEDIAN(${arg})`,
    percentile: orderedSetPercentile,
    approximatePercentile: (arg, fraction) => `APPROX_PERCENTILE(${arg}, ${fraction})`,
  }),
  ratio: (n, d) => `CAST(${n} AS DOUBLE) / NULLIF(${d}, 0)`,
  // NUMBER / NUMBER is a fixed-scale decimal in Snowflake; DuckDB's / is a double.
  divide: (l, r) => `CAST(${l} AS DOUBLE) / ${r}`,
  // The escape character is named so that the result does not depend on Snowflake's default.
  like: (arg, pattern, { negated, caseInsensitive }) => `${arg} ${negated ? 'NOT ' : ''}${caseInsensitive ? 'ILIKE' : 'LIKE'} ${pattern} ESCAPE '\\\\'`,
  likeBackslashEscapes: true,
  call: nullSkippingExtreme,
  textMatch: (arg, value, at) => `${at === 'anywhere' ? 'CONTAINS' : at === 'start' ? 'STARTSWITH' : 'ENDSWITH'}(${arg}, ${value})`,
  // GENERATOR needs a constant row count, so the periods come from an array as long as the range.
  series: (start, stop, grain, alias, column, pad = '') => {
    const { unit, step } = periodUnit(grain);
    // NUMBER / NUMBER has a fraction in Snowflake; FLOOR keeps the count a whole number.
    const count = step === 1 ? `DATEDIFF(${unit}, bounds.lo, bounds.hi)` : `FLOOR(DATEDIFF(${unit}, bounds.lo, bounds.hi) / ${step})`;
    const offset = step === 1 ? 'periods.index' : `periods.index * ${step}`;
    return derivedTable(
      pad,
      [
        `SELECT DATEADD(${unit}, ${offset}, bounds.lo) AS ${column}`,
        `FROM (SELECT ${start} AS lo, ${stop} AS hi) AS bounds,`,
        `  LATERAL FLATTEN(INPUT => ARRAY_GENERATE_RANGE(0, ${count} + 1)) AS periods`,
      ],
      alias,
    );
  },
};
