/**
 * A derived metric: an expression over other metrics (its inputs, each possibly offset), computed
 * on the inputs combined side by side on the keys (MetricFlow's derived metric). A period or group
 * that none of the inputs has reads as the formula over the inputs' fills.
 */
import { TallyError } from '../../errors.js';
import { lowerExpression } from '../expression.js';
import type { PlanNode, Shift } from '../plan.js';
import type { Bounds } from '../time.js';
import { combine } from './combine.js';
import type { Lowering } from './context.js';
import { NULL, type Output } from './output.js';

export function lowerDerived(cx: Lowering, node: Extract<PlanNode, { kind: 'derived' }>, bounds: Bounds, shifts: Shift[]): Output {
  const inputs = node.inputs.map((i) => ({ alias: i.alias, out: cx.node(i.node, bounds, shifts) }));
  const query = combine(
    cx,
    inputs.map((i) => i.out),
    (max) => [
      {
        expr: lowerExpression(node.expr, (ref) => {
          const input = inputs.find((i) => i.alias === ref);
          if (!input) {
            throw new TallyError('INVALID_DEFINITION', `metric '${node.metric}': its expr names '${ref}', which is not one of its inputs (${inputs.map((i) => i.alias).join(', ')})`);
          }
          return max(input.out);
        }),
        alias: node.id,
      },
    ],
  );
  const out: Output = { cte: cx.addCte(node.id, query, `${node.metric}: derived from ${inputs.map((i) => i.alias).join(', ')}`), column: node.id };
  // A period or group none of the inputs has reads as the formula over the inputs' fills.
  if (inputs.some((i) => i.out.fill !== undefined)) {
    out.fill = lowerExpression(node.expr, (ref) => inputs.find((i) => i.alias === ref)?.out.fill ?? NULL);
  }
  return out;
}
