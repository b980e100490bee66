/**
 * A ratio metric: numerator and denominator metrics, each aggregated on its own, then divided
 * with division by zero as NULL (MetricFlow's ratio metric; the `ratio` SQL node renders the
 * NULLIF and the dialect's exact division).
 */
import type { PlanNode, Shift } from '../plan.js';
import type { Bounds } from '../time.js';
import { combine } from './combine.js';
import type { Lowering } from './context.js';
import type { Output } from './output.js';

export function lowerRatio(cx: Lowering, node: Extract<PlanNode, { kind: 'ratio' }>, bounds: Bounds, shifts: Shift[]): Output {
  const n = cx.node(node.numerator, bounds, shifts);
  const d = cx.node(node.denominator, bounds, shifts);
  const query = combine(cx, [n, d], (max) => [{ expr: { t: 'ratio', numerator: max(n), denominator: max(d) }, alias: node.id }]);
  return { cte: cx.addCte(node.id, query, `${node.metric} = ${node.numerator.metric} / ${node.denominator.metric}`), column: node.id };
}
