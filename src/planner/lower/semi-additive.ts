/**
 * A semi-additive measure (balances, inventory): only the rows at the last (or first) value of its
 * non-additive dimension count, found per period and window grouping (MetricFlow's
 * non_additive_dimension with window_choice and window_groupings; its SemiAdditiveJoinNode).
 */
import type { Select, SqlExpr } from '../../sql/ast.js';
import { col } from '../../sql/ast.js';
import type { PlanNode } from '../plan.js';
import type { Bounds } from '../time.js';
import type { Lowering } from './context.js';
import { leafScan } from './leaf-scan.js';
import { type Output, TIME, VALUE } from './output.js';

export function lowerSemiAdditive(cx: Lowering, node: Extract<PlanNode, { kind: 'simple' }>, bounds: Bounds): Output {
  const { measure } = node.use;
  const nad = measure.def.non_additive_dimension;
  if (!nad) throw new Error('not semi-additive');
  const { scan, keys, timeKeys } = leafScan(cx, node.use, bounds, `metric '${node.metric}'`, { keys: 'all' });
  // The last (or first) time is found per period and window grouping, over every row of the
  // other group-bys, so that all groups are read at the same time (a snapshot, not a last value each).
  const periodKeys = keys.filter((k) => timeKeys.some((t) => t.column === k.alias));
  const dim = measure.model.dimensions.get(nad.name);
  if (!dim) throw new Error(`missing non-additive dimension ${nad.name}`);
  // The snapshot time is read at its declared grain: a daily snapshot's last day, whatever the hour of each row.
  const at: SqlExpr = dim.type === 'time' ? { t: 'truncate', grain: dim.granularity, arg: scan.time(dim) } : scan.time(dim);
  const groupings = nad.window_groupings.map((g) => scan.entity(g));
  const rows: Select = {
    t: 'select',
    columns: [
      ...keys,
      { expr: scan.measure(measure), alias: VALUE },
      { expr: at, alias: TIME },
      { expr: { t: 'window', fn: nad.window_choice === 'max' ? 'max' : 'min', arg: at, partitionBy: [...periodKeys.map((k) => k.expr), ...groupings], orderBy: [] }, alias: '__edge' },
    ],
    ...scan.build(),
  };
  const rowsCte = cx.addCte(`${node.id}_rows`, rows, `${node.metric}: rows of ${measure.model.name} with the ${nad.window_choice === 'max' ? 'last' : 'first'} ${nad.name} per group`);
  const keyCols = cx.keyColumns(undefined);
  const query: Select = {
    t: 'select',
    columns: [...keyCols, { expr: cx.aggregate(measure, col(undefined, VALUE)), alias: node.id }],
    from: { t: 'cte', name: rowsCte },
    where: { t: 'binary', op: '=', left: col(undefined, TIME), right: col(undefined, '__edge') },
    groupBy: keyCols.map((k) => k.expr),
  };
  return { cte: cx.addCte(node.id, query, `${node.metric}: ${measure.agg} of ${measure.name} at the ${nad.window_choice === 'max' ? 'last' : 'first'} ${nad.name}`), column: node.id };
}
