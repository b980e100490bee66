/** Postgres 12 and later. */
import type { Grain } from '../../definitions/schema.js';
import type { Dialect } from '../dialect.js';
import { aggregateWith, ansiIdentifier, ansiString, orderedSetPercentile, regexTryCast } from './common.js';

/** A string literal that means the same whatever standard_conforming_strings says. */
function pgString(value: string): string {
  return value.includes('\\') ? `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'` : ansiString(value);
}

/** An interval literal; Postgres has no 'quarter' unit and spells weeks as days here for clarity. */
export function pgInterval(count: number, grain: Grain): string {
  const [n, unit] = grain === 'week' ? [count * 7, 'day'] : grain === 'quarter' ? [count * 3, 'month'] : [count, grain];
  return `INTERVAL '${n} ${unit}${n === 1 ? '' : 's'}'`;
}

export const postgres: Dialect = {
  name: 'postgres',
  quoteIdentifier: ansiIdentifier,
  stringLiteral: pgString,
  timestampLiteral: (v) => `TIMESTAMP ${ansiString(v)}`,
  dateLiteral: (v) => `DATE ${ansiString(v)}`,
  // date_trunc('week', …) is the ISO week, starting on Monday.
  truncate: (grain, arg) => `date_trunc(${ansiString(grain)}, ${arg})`,
  // EXTRACT is numeric in Postgres 14+; DuckDB's is a BIGINT. 'week' is the ISO week, isodow has Monday = 1.
  extract: (part, arg) => `CAST(EXTRACT(${part === 'dow' ? 'isodow' : part} FROM ${arg}) AS BIGINT)`,
  toZone: (zone, arg) => `((${arg}) AT TIME ZONE 'UTC') AT TIME ZONE ${ansiString(zone)}`,
  addInterval: (arg, count, grain) => (count >= 0 ? `${arg} + ${pgInterval(count, grain)}` : `${arg} - ${pgInterval(-count, grain)}`),
  castTimestamp: (arg) => `CAST(${arg} AS TIMESTAMP)`,
  // No TRY_CAST: the text form is tested first. Numbers become NUMERIC, whose arithmetic cannot overflow.
  tryCast: (arg, to) => regexTryCast(arg, to, 'TEXT', 'NUMERIC'),
  castDate: (arg) => `CAST(${arg} AS DATE)`,
  aggregate: aggregateWith({
    dialect: 'postgres',
    filterClause: true,
    double: 'DOUBLE PRECISION',
    median: (arg) => orderedSetPercentile(arg, 0.5, false),
    percentile: orderedSetPercentile,
  }),
  ratio: (n, d) => `CAST(${n} AS DOUBLE PRECISION) / NULLIF(${d}, 0)`,
  // int / int truncates in Postgres; DuckDB's / is a floating-point quotient.
  divide: (l, r) => `CAST(${l} AS DOUBLE PRECISION) / ${r}`,
  likeBackslashEscapes: true,
  call: (fn, args) => {
    // round(double) rounds half to even in Postgres; numeric rounds half away from zero, as DuckDB does.
    if (fn === 'round') return `ROUND(${[`CAST(${args[0]} AS NUMERIC)`, ...args.slice(1)].join(', ')})`;
    return undefined;
  },
  typedNull: (scalarQuery) => scalarQuery,
  series: (start, stop, grain, alias, column) => `generate_series(${start}, ${stop}, ${pgInterval(1, grain)}) AS ${alias}(${column})`,
};
