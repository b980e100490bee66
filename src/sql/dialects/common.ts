/**
 * Spellings shared by several dialects, and the error for what a dialect cannot express. Each
 * dialect module picks from here; nothing outside src/sql/dialects needs to know about them.
 */
import type { AggregationType, Grain } from '../../definitions/schema.js';
import { TallyError } from '../../errors.js';
import type { Dialect } from '../dialect.js';

/** Standard SQL: a string in single quotes, a quote doubled. */
export const ansiString = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/** For dialects whose string literals also read backslash escapes (Snowflake, Redshift). */
export const backslashString = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

export const ansiIdentifier = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** A subquery in FROM laid out one clause per line, indented under the clause at `pad`. */
export function derivedTable(pad: string, lines: string[], alias: string): string {
  return `(\n${lines.map((l) => `${pad}  ${l}`).join('\n')}\n${pad}) AS ${alias}`;
}

/** Refuses a feature a dialect cannot express exactly, rather than emitting SQL with another meaning. */
export function unsupported(dialect: string, feature: string, why: string): never {
  throw new TallyError('UNSUPPORTED', `the ${dialect} dialect cannot express ${feature}: ${why}. Use another dialect for this request, or change the definition`);
}

/** Whole periods between two period starts, for dialects with DATEDIFF (which counts boundaries crossed). */
export function periodUnit(grain: Grain): { unit: string; step: number } {
  // Weeks are counted in days: DATEDIFF(week, …) depends on the engine's idea of the first weekday.
  return grain === 'week' ? { unit: 'day', step: 7 } : { unit: grain, step: 1 };
}

export interface AggregateStyle {
  dialect: string;
  /** Whether `agg(x) FILTER (WHERE …)` exists; otherwise the filter moves into a CASE inside. */
  filterClause: boolean;
  /** The name of the 64-bit float type, for averages (DuckDB's AVG is always a double). */
  double: string;
  median(arg: string): string;
  percentile(arg: string, fraction: number, discrete: boolean): string;
  /** A percentile that may be approximate (the measure says `approximate: true`); absent: the exact one. */
  approximatePercentile?(arg: string, fraction: number): string;
}

/** Aggregates as DuckDB computes them, spelled for a dialect. */
export function aggregateWith(style: AggregateStyle): Dialect['aggregate'] {
  return (agg: AggregationType | 'count_star', arg, { filter, percentile, discrete, approximate }) => {
    const clause = filter && style.filterClause ? ` FILTER (WHERE ${filter})` : '';
    const inner = filter && !style.filterClause ? (x: string): string => `CASE WHEN ${filter} THEN ${x} END` : (x: string): string => x;
    const value = arg ?? '*';
    switch (agg) {
      case 'count_star':
        return filter && !style.filterClause ? `COUNT(${inner('1')})` : `COUNT(*)${clause}`;
      case 'sum':
        return `SUM(${inner(value)})${clause}`;
      case 'count':
        return `COUNT(${inner(value)})${clause}`;
      case 'count_distinct':
        return `COUNT(DISTINCT ${inner(value)})${clause}`;
      case 'average':
        return `AVG(CAST(${inner(value)} AS ${style.double}))${clause}`;
      case 'min':
        return `MIN(${inner(value)})${clause}`;
      case 'max':
        return `MAX(${inner(value)})${clause}`;
      case 'median':
        return `${style.median(inner(value))}${clause}`;
      case 'percentile':
        if (approximate && style.approximatePercentile) return `${style.approximatePercentile(inner(value), percentile ?? 0.5)}${clause}`;
        return `${style.percentile(inner(value), percentile ?? 0.5, discrete ?? false)}${clause}`;
      case 'sum_boolean':
        // A CASE rather than a cast: not every warehouse casts BOOLEAN to a number. NULL stays NULL.
        return `SUM(${inner(`CASE WHEN ${value} THEN 1 WHEN NOT (${value}) THEN 0 END`)})${clause}`;
    }
  };
}

/** `PERCENTILE_CONT(p) WITHIN GROUP (ORDER BY x)`, the SQL-standard ordered-set aggregate. */
export function orderedSetPercentile(arg: string, fraction: number, discrete: boolean): string {
  return `${discrete ? 'PERCENTILE_DISC' : 'PERCENTILE_CONT'}(${fraction}) WITHIN GROUP (ORDER BY ${arg})`;
}

/**
 * GREATEST / LEAST that skip NULLs, as DuckDB and Postgres do, for dialects where one NULL
 * argument makes the answer NULL: every argument is replaced by the first non-NULL value starting
 * from it, so the NULLs drop out and only an all-NULL call gives NULL.
 */
export function nullSkippingExtreme(fn: string, args: string[]): string | undefined {
  if ((fn !== 'greatest' && fn !== 'least') || args.length < 2) return undefined;
  const rotated = args.map((_, i) => `COALESCE(${[...args.slice(i), ...args.slice(0, i)].join(', ')})`);
  return `${fn.toUpperCase()}(${rotated.join(', ')})`;
}

/** LIKE for dialects without ILIKE: both sides lower-cased. */
export function lowerLike(arg: string, pattern: string, { negated, caseInsensitive }: { negated: boolean; caseInsensitive: boolean }): string {
  const not = negated ? 'NOT ' : '';
  return caseInsensitive ? `LOWER(${arg}) ${not}LIKE LOWER(${pattern})` : `${arg} ${not}LIKE ${pattern}`;
}

/** Text forms that convert to a number or a boolean without error (checked with POSIX regular expressions). */
const NUMBER_TEXT = "'^[[:space:]]*[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]{1,2})?[[:space:]]*$'";
const BOOLEAN_TEXT = "('t', 'true', 'y', 'yes', 'on', '1', 'f', 'false', 'n', 'no', 'off', '0')";

/**
 * A conversion that gives NULL instead of failing, for dialects without TRY_CAST (Postgres,
 * Redshift): the value's text is tested with `~` before it is cast. Exponents are limited to two
 * digits, so that a converted number also fits a double.
 */
export function regexTryCast(arg: string, to: 'text' | 'number' | 'boolean', textType: string, numberType: string): string {
  const text = `CAST(${arg} AS ${textType})`;
  if (to === 'text') return text;
  if (to === 'number') return `CASE WHEN ${text} ~ ${NUMBER_TEXT} THEN CAST(${text} AS ${numberType}) END`;
  return `CASE WHEN LOWER(TRIM(${text})) IN ${BOOLEAN_TEXT} THEN CAST(TRIM(${text}) AS BOOLEAN) END`;
}
