/**
 * A window evaluated by joining each period to the rows that fall in it: any aggregation over a
 * trailing window, the grain to date or all time (MetricFlow's JoinOverTimeRangeNode). A shifted
 * window (under an offset) ends at the period its offsets map the output period back to.
 */
import type { Grain } from '../../definitions/schema.js';
import { type FromItem, type Select, type SqlExpr, and, col } from '../../sql/ast.js';
import { mapBack } from '../offsets.js';
import type { GroupKey, PlanNode, Shift } from '../plan.js';
import type { Lowering } from './context.js';
import { TIME, VALUE } from './output.js';

/** Any aggregation over a window: each period joined to the rows that fall in its window. */
export function windowJoin(cx: Lowering, node: Extract<PlanNode, { kind: 'cumulative' }>, rowsCte: string, base: Grain, series: FromItem, periodAlias: string, otherKeys: GroupKey[], shifts: Shift[]): Select {
  const output = col('period', 'start');
  // A shifted window ends at the period its offsets map the output period back to.
  const period = mapBack(shifts, output);
  const nextPeriod: SqlExpr = { t: 'addInterval', arg: period, count: 1, grain: base };
  const rowTime = col('r', TIME);
  const conditions: SqlExpr[] = [{ t: 'binary', op: '<', left: rowTime, right: nextPeriod }];
  if (node.window) {
    conditions.push({ t: 'binary', op: '>=', left: rowTime, right: { t: 'addInterval', arg: nextPeriod, count: -node.window.count, grain: node.window.grain } });
  } else if (node.grainToDate) {
    conditions.push({ t: 'binary', op: '>=', left: rowTime, right: { t: 'truncate', grain: node.grainToDate, arg: period } });
  }
  return {
    t: 'select',
    columns: [
      { expr: output, alias: periodAlias },
      ...otherKeys.map((k) => ({ expr: col('r', k.column), alias: k.column })),
      { expr: cx.aggregate(node.use.measure, col('r', VALUE)), alias: node.id },
    ],
    from: series,
    joins: [{ type: 'inner', item: { t: 'cte', name: rowsCte, alias: 'r' }, on: and(conditions) }],
    groupBy: [output, ...otherKeys.map((k) => col('r', k.column))],
  };
}

