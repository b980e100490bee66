/**
 * An offset metric input (offset_window, offset_to_grain; MetricFlow's derived-metric offsets):
 * usually the input is lowered with the offset added to its shifts, so its leaf scans read each
 * period at the time the offset maps it back to (leaf-scan.ts, cumulative.ts). When the offset is
 * a whole number of the requested periods and nothing above shifts further, the input's answer is
 * only relabelled: computed for the range moved back, its time keys moved forward.
 */
import type { Window } from '../../definitions/schema.js';
import { add } from '../../query/time.js';
import { type Select, type SqlExpr, col } from '../../sql/ast.js';
import { relabelShift } from '../offsets.js';
import type { PlanNode, Shift } from '../plan.js';
import type { Bounds } from '../time.js';
import type { Lowering } from './context.js';
import type { Output } from './output.js';

export function lowerOffset(cx: Lowering, node: Extract<PlanNode, { kind: 'offset' }>, bounds: Bounds, shifts: Shift[]): Output {
  const relabel = shifts.length === 0 ? relabelShift(cx.graph, cx.plan, node) : undefined;
  return relabel ? relabelled(cx, node, relabel, bounds) : cx.node(node.input, bounds, [...shifts, node.shift]);
}

function relabelled(cx: Lowering, node: Extract<PlanNode, { kind: 'offset' }>, window: Window, bounds: Bounds): Output {
  const back = (d: Date | undefined): Date | undefined => (d ? add(d, -window.count, window.grain) : undefined);
  const input = cx.node(node.input, { start: back(bounds.start), end: back(bounds.end) });
  const query: Select = {
    t: 'select',
    columns: [
      ...cx.plan.keys.map((k) => ({ expr: k.time ? ({ t: 'addInterval', arg: col(undefined, k.column), count: window.count, grain: window.grain } as SqlExpr) : col(undefined, k.column), alias: k.column })),
      { expr: col(undefined, input.column), alias: node.id },
    ],
    from: { t: 'cte', name: input.cte },
  };
  return { cte: cx.addCte(node.id, query, `${node.metric} moved ${window.count} ${window.grain}(s) later`), column: node.id, fill: input.fill };
}

