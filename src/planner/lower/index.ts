/**
 * Logical plan → SQL tree. Each plan node becomes one or more named CTEs whose columns are the
 * request's group-by keys plus the node's value; metrics from different models are aggregated
 * on their own and combined on the keys afterwards (never joined fact to fact).
 *
 * One module per node kind, as MetricFlow turns each dataflow node into SQL in its own visit step:
 * simple.ts (and semi-additive.ts), cumulative.ts (window-join.ts, distinct-sweep.ts),
 * conversion.ts, ratio.ts, derived.ts, offset.ts; beside them time-spine.ts (join_to_timespine
 * and fillGaps), rollup-scan.ts (a leaf read from a rollup), metric-filter.ts, listing.ts (requests without metrics), combine.ts and
 * statement.ts. They share context.ts (CTE naming, the memo, scans) and leaf-scan.ts (rows of a
 * measure's model, with bounds and offsets).
 */
import type { SemanticGraph } from '../../definitions/graph.js';
import { TallyError } from '../../errors.js';
import type { Statement } from '../../sql/ast.js';
import type { Plan, PlanNode, Shift } from '../plan.js';
import type { Bounds } from '../time.js';
import { Lowering, type LowerOptions } from './context.js';

export type { LowerOptions } from './context.js';
import { lowerConversion } from './conversion.js';
import { lowerCumulative } from './cumulative.js';
import { lowerDerived } from './derived.js';
import { lowerOffset } from './offset.js';
import type { Output } from './output.js';
import { lowerRatio } from './ratio.js';
import { rollupLeaf } from './rollup-scan.js';
import { lowerSimple } from './simple.js';
import { statement } from './statement.js';
import { type PartColumn, partsStatement } from './parts.js';
import { joinToSpine } from './time-spine.js';

/** The SQL statement that answers a plan: its CTEs in the order they were made, and the final SELECT. */
export function lowerPlan(graph: SemanticGraph, plan: Plan, options: LowerOptions = {}): Statement {
  return statement(new Lowering(graph, plan, lowerNode, undefined, options));
}

/** Measure parts by the plan's keys instead of metrics (rollups, see parts.ts); the plan has no metrics. */
export function lowerMeasureParts(graph: SemanticGraph, plan: Plan, columns: PartColumn[], options: LowerOptions = {}): Statement {
  return partsStatement(new Lowering(graph, plan, lowerNode, undefined, options), columns);
}
export type { PartColumn } from './parts.js';

/** Which module lowers which node kind (the context memoises the result per bounds and shifts). */
function lowerNode(cx: Lowering, node: PlanNode, bounds: Bounds, shifts: Shift[]): Output {
  switch (node.kind) {
    // A leaf reads a rollup where the lowering routes to rollups and one serves it (rollup-scan.ts).
    case 'simple':
      return joinToSpine(cx, node, node.use.measure, rollupLeaf(cx, node, bounds, shifts) ?? lowerSimple(cx, node, bounds, shifts), bounds);
    case 'cumulative':
      return joinToSpine(cx, node, node.use.measure, rollupLeaf(cx, node, bounds, shifts) ?? lowerCumulative(cx, node, bounds, shifts), bounds);
    case 'conversion':
      if (shifts.length) throw new TallyError('UNSUPPORTED', `metric '${node.metric}' is a conversion metric; Tally cannot offset it in time yet`);
      return joinToSpine(cx, node, node.base.measure, rollupLeaf(cx, node, bounds, shifts) ?? lowerConversion(cx, node, bounds), bounds);
    case 'ratio':
      return lowerRatio(cx, node, bounds, shifts);
    case 'derived':
      return lowerDerived(cx, node, bounds, shifts);
    case 'offset':
      return lowerOffset(cx, node, bounds, shifts);
  }
}
