/**
 * A simple metric: one measure aggregated per key over the rows of its model (MetricFlow's simple
 * metric: aggregate a measure, with the metric's filter). Metrics of one model with the same
 * filters share one scan, one CTE with a column each (except sort-based aggregates where the
 * dialect wants them apart). Semi-additive measures go to semi-additive.ts.
 */
import { TallyError } from '../../errors.js';
import { expressionsKey } from '../../query/expression.js';
import type { Select } from '../../sql/ast.js';
import type { PlanNode, Shift } from '../plan.js';
import type { Bounds } from '../time.js';
import type { Lowering } from './context.js';
import { leafScan } from './leaf-scan.js';
import type { Output } from './output.js';
import { lowerSemiAdditive } from './semi-additive.js';

/** Sort-based (ordered-set) aggregations. */
const SORTED_AGGREGATES = new Set(['median', 'percentile']);

export function lowerSimple(cx: Lowering, node: Extract<PlanNode, { kind: 'simple' }>, bounds: Bounds, shifts: Shift[] = []): Output {
  const { measure } = node.use;
  if (measure.def.non_additive_dimension) {
    if (shifts.length) throw new TallyError('UNSUPPORTED', `metric '${node.metric}' is semi-additive; Tally cannot offset it in time yet`);
    return lowerSemiAdditive(cx, node, bounds);
  }
  // Metrics of one model with the same filters read the same rows: one scan serves them all.
  // A sort-based aggregate shares no scan where the dialect allows one per SELECT.
  const apart = cx.options.sortedAggregatesApart && SORTED_AGGREGATES.has(measure.agg) ? node.id : undefined;
  const signature = `${measure.model.name}\0${measure.timeDimension?.name ?? ''}\0${apart ?? ''}|${node.use.filters.length ? expressionsKey(node.use.filters) : ''}|${bounds.start?.getTime()}|${bounds.end?.getTime()}|${shifts.length ? JSON.stringify(shifts) : ''}`;
  const shared = cx.sharedScans.get(signature);
  if (shared) {
    shared.select.columns.push({ expr: cx.aggregate(measure, shared.scan.measure(measure)), alias: node.id });
    Object.assign(shared.select, shared.scan.build());
    shared.cte.comment = `${shared.cte.comment}; ${node.metric}: ${measure.agg} of ${measure.name}`;
    return { cte: shared.cte.name, column: node.id };
  }
  const { scan, keys } = leafScan(cx, node.use, bounds, `metric '${node.metric}'`, { keys: 'all', shifts });
  const value = cx.aggregate(measure, scan.measure(measure));
  const query: Select = {
    t: 'select',
    columns: [...keys, { expr: value, alias: node.id }],
    ...scan.build(),
    groupBy: keys.map((k) => k.expr),
  };
  const name = cx.addCte(node.id, query, `${node.metric}: ${measure.agg} of ${measure.model.name}.${measure.name}`);
  const cte = cx.ctes.find((c) => c.name === name);
  if (cte) cx.sharedScans.set(signature, { scan, select: query, cte });
  return { cte: name, column: node.id };
}
