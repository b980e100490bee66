/**
 * What differs between SQL engines. The renderer asks a Dialect for every spelling that is not
 * the same everywhere; everything else is rendered once, in render.ts.
 */
import type { AggregationType, Grain } from '../definitions/schema.js';

export interface Dialect {
  readonly name: string;
  quoteIdentifier(name: string): string;
  stringLiteral(value: string): string;
  timestampLiteral(value: string): string;
  dateLiteral(value: string): string;
  truncate(grain: Grain, arg: string): string;
  /** A naive timestamp holding UTC, shown as wall-clock time in `zone` (an IANA name, already validated). */
  toZone(zone: string, arg: string): string;
  addInterval(arg: string, count: number, grain: Grain): string;
  castTimestamp(arg: string): string;
  castDate(arg: string): string;
  aggregate(agg: AggregationType | 'count_star', arg: string | undefined, options: { filter?: string; percentile?: number; discrete?: boolean }): string;
  ratio(numerator: string, denominator: string): string;
  /** Whether `arg` contains / starts with / ends with a string; the ANSI spelling when absent. */
  textMatch?(arg: string, value: string, at: 'anywhere' | 'start' | 'end'): string;
  /** A FROM item with one row per grain from start to stop inclusive. */
  series(start: string, stop: string, grain: Grain, alias: string, column: string): string;
}
