/**
 * A metric per entity used in a filter (`listing.bookings > 2`, MetricFlow's metric filters): the
 * metric grouped by the entity is lowered once per statement into the statement's own CTEs, over
 * the rows the caller may see, and left-joined to the filtered rows on that entity.
 */
import { parseRequest } from '../../query/request.js';
import { type SqlExpr, col } from '../../sql/ast.js';
import { buildPlan } from '../plan.js';
import type { MetricReference, ScanBuilder } from '../scan.js';
import type { Lowering } from './context.js';
import { filled } from './output.js';

export function metricFilter(cx: Lowering, ref: MetricReference, scan: ScanBuilder): SqlExpr {
  let computed = cx.shared.metricFilters.get(ref.text);
  if (!computed) {
    const request = parseRequest({ metrics: [ref.metric], groupBy: [ref.entityPath.join('.')], timeZone: cx.plan.timeZone });
    // The metric is computed over the rows the caller may see, like every other metric.
    const plan = buildPlan(cx.graph, request, [], cx.plan.rowFilters);
    const out = cx.forPlan(plan).node(plan.outputs[0].node, {});
    computed = { cte: out.cte, key: plan.keys[0].column, out };
    cx.shared.metricFilters.set(ref.text, computed);
  }
  const entity = ref.entityPath[ref.entityPath.length - 1];
  const on = scan.reference({ kind: 'entity', text: entity, entityPath: [entity] }).expr;
  const alias = `${ref.text.replace(/\./g, '__')}`;
  scan.join({ type: 'left', item: { t: 'cte', name: computed.cte, alias }, on: { t: 'binary', op: '=', left: col(alias, computed.key), right: on } });
  return filled(computed.out, col(alias, computed.out.column));
}

