/**
 * What lowering a plan node yields (a CTE holding the request's keys and one value column), and
 * the small SQL builders node modules share: reading a value with its fill, timestamps, the
 * extent of a CTE's column. Column names starting with `__` are internal to the statement.
 */
import type { Expression } from '../../query/expression.js';
import { formatTime } from '../../query/time.js';
import { GRAIN_ORDER } from '../../definitions/schema.js';
import { type SqlExpr, col, num } from '../../sql/ast.js';
import type { GroupKey } from '../plan.js';

/** A CTE holding the keys and one value column. */
export interface Output {
  cte: string;
  column: string;
  /**
   * What a missing value reads as where this output is used: fill_nulls_with, 0 for an empty count
   * or sum, or for a derived metric its formula over its inputs' fills.
   */
  fill?: SqlExpr;
}

/** The time of a row, in CTEs of rows. */
export const TIME = '__time';
/** The measure's value of a row, in CTEs of rows. */
export const VALUE = '__value';
export const NULL: SqlExpr = { t: 'literal', value: { kind: 'null' } };

/** Whether a key's values are whole days (shown as dates) rather than times or numbers. */
export function isDateKey(k: GroupKey): boolean {
  const t = k.time;
  if (!t || t.kind === 'part') return false;
  const grain = t.kind === 'grain' ? t.grain : t.custom.spine.grain;
  return GRAIN_ORDER[grain] >= GRAIN_ORDER.day;
}

/** The parts of a filter that must all hold (its top-level AND). */
export function conjunctsOf(e: Expression): Expression[] {
  return e.kind === 'and' ? e.args.flatMap(conjunctsOf) : [e];
}

/**
 * 0 of the type of an output's values: an empty sum of decimals is 0.00 on every engine (a bare
 * 0 would be an integer where the engine does not carry the decimal's scale, as on Postgres).
 */
export function typedZero(o: Output): SqlExpr {
  const sample: SqlExpr = { t: 'subquery', query: { t: 'select', columns: [{ expr: { t: 'aggregate', agg: 'max', arg: col(undefined, o.column) }, alias: 'sample' }], from: { t: 'cte', name: o.cte } } };
  return { t: 'coalesce', args: [{ t: 'binary', op: '*', left: num(0), right: sample }, num(0)] };
}

/** A value read from an output, with its fill_nulls_with where it has one. */
export function filled(o: Output, value: SqlExpr): SqlExpr {
  return o.fill === undefined ? value : { t: 'coalesce', args: [value, o.fill] };
}

/** A timestamp literal (wall-clock time, as the plan's bounds are). */
export function ts(date: Date): SqlExpr {
  return { t: 'literal', value: { kind: 'timestamp', value: formatTime(date) } };
}

/** The smallest or largest value of a CTE's column (its row time by default), as a scalar subquery. */
export function aggregateOf(cte: string, fn: 'min' | 'max', column = TIME): SqlExpr {
  return {
    t: 'subquery',
    query: { t: 'select', columns: [{ expr: { t: 'aggregate', agg: fn, arg: col(undefined, column) }, alias: fn }], from: { t: 'cte', name: cte } },
  };
}
