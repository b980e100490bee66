/**
 * What differs between SQL engines. The renderer asks a Dialect for every spelling that is not
 * the same everywhere; everything else is rendered once, in render.ts.
 */
import type { AggregationType, DatePart, Grain } from '../definitions/schema.js';

export interface Dialect {
  readonly name: string;
  /**
   * Whether one SELECT may hold only one sort-based aggregate (Redshift: the WITHIN GROUP orders of
   * MEDIAN / PERCENTILE_CONT in one SELECT must be the same): the lowering then puts each in a
   * step of its own.
   */
  readonly sortedAggregatesApart?: boolean;
  /** Whether UNION ALL BY NAME exists (fills columns a branch lacks with NULL). */
  readonly unionByName?: boolean;
  quoteIdentifier(name: string): string;
  stringLiteral(value: string): string;
  timestampLiteral(value: string): string;
  dateLiteral(value: string): string;
  truncate(grain: Grain, arg: string): string;
  /** A part of a time as a number; the ANSI EXTRACT (with isodow for the day of week) when absent. */
  extract?(part: DatePart, arg: string): string;
  /** A naive timestamp holding UTC, shown as wall-clock time in `zone` (an IANA name, already validated). */
  toZone(zone: string, arg: string): string;
  addInterval(arg: string, count: number, grain: Grain): string;
  castTimestamp(arg: string): string;
  /**
   * `arg` converted to text, a number (floating point, or NUMERIC where floating-point arithmetic
   * fails on overflow) or a boolean, NULL where it does not convert: never an error, whatever the
   * value (caller-written filters must not fail on data; see src/query/typecheck.ts).
   */
  tryCast(arg: string, to: 'text' | 'number' | 'boolean'): string;
  castDate(arg: string): string;
  /** The type COUNT(...) gives, to type a sum of counts back (BIGINT when absent). */
  readonly countType?: string;
  aggregate(agg: AggregationType | 'count_star', arg: string | undefined, options: { filter?: string; percentile?: number; discrete?: boolean; approximate?: boolean }): string;
  ratio(numerator: string, denominator: string): string;
  /** Whether `arg` contains / starts with / ends with a string; the ANSI spelling when absent. */
  textMatch?(arg: string, value: string, at: 'anywhere' | 'start' | 'end'): string;
  /**
   * A FROM item with one row per grain from start to stop inclusive. `pad` is the indentation of
   * the clause it appears in, for dialects that spell it as a subquery over several lines.
   */
  series(start: string, stop: string, grain: Grain, alias: string, column: string, pad?: string): string;
  /**
   * `left / right` with DuckDB's meaning: always a floating-point quotient (7 / 2 = 3.5), never
   * integer or fixed-scale decimal division. Absent: `left / right` as written.
   */
  divide?(left: string, right: string): string;
  /** `left % right`; absent: the `%` operator. */
  modulo?(left: string, right: string): string;
  /**
   * LIKE / ILIKE. `pattern` is rendered already; with `likeBackslashEscapes` the renderer has
   * doubled its backslashes, so that a backslash matches itself as it does in DuckDB (which has
   * no default LIKE escape character). Absent: LIKE and ILIKE as written.
   */
  like?(arg: string, pattern: string, options: { negated: boolean; caseInsensitive: boolean }): string;
  /** True where `\` is the default LIKE escape character (Postgres, Redshift, Snowflake, BigQuery). */
  readonly likeBackslashEscapes?: boolean;
  /**
   * A scalar function of the filter language (lower, round, greatest…) where this dialect's
   * spelling or NULL handling differs from DuckDB's; undefined to use `FN(args)`.
   */
  call?(fn: string, args: string[]): string | undefined;
  /**
   * A NULL with the type of a scalar query's column. Needed where a UNION of untyped NULLs fails
   * (Postgres resolves UNION column types pairwise, so NULL ∪ NULL becomes text); absent: NULL.
   */
  typedNull?(scalarQuery: string): string;
  /**
   * What follows a column's type in CREATE TABLE for a small table read whole and often (a
   * rollup, src/rollups/store.ts), where the default storage is slow to read for that type;
   * absent or undefined: nothing.
   */
  fastScanStorage?(type: string): string | undefined;
}
