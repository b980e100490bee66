/**
 * The statement of a request: each requested metric lowered (memoised in the context), the
 * request's time spine when it fills gaps, all combined on the keys, renamed to the requested
 * references, in a total order (NULLs last, keys break ties) and limited. A request without
 * metrics is a listing (listing.ts); a metric with an offset needs a time group-by.
 */
import { TallyError } from '../../errors.js';
import { type Select, type Statement, col } from '../../sql/ast.js';
import type { PlanNode } from '../plan.js';
import { combine } from './combine.js';
import type { Lowering } from './context.js';
import { groupByValues } from './listing.js';
import { filled } from './output.js';
import { requestSpine } from './time-spine.js';

export function statement(cx: Lowering): Statement {
  const plan = cx.plan;
  if (plan.outputs.length === 0) return groupByValues(cx);
  // An offset maps periods to periods; without a time group-by there are none. Name the metric asked, not its input.
  const offset = plan.keys.some((k) => k.time) ? undefined : plan.outputs.find((o) => hasOffset(o.node));
  if (offset) throw new TallyError('INVALID_REQUEST', `metric '${offset.name}' compares periods (an offset), so group it by metric_time, for example metric_time.month`);
  const outputs = plan.outputs.map((o) => ({ ...o, out: cx.node(o.node, plan.range) }));
  const spine = plan.fillGaps && plan.timeKeys.length ? requestSpine(cx, outputs.map((o) => o.out)) : undefined;

  const inputs = [...outputs.map((o) => o.out), ...(spine ? [spine] : [])];
  let body: Select;
  if (inputs.length === 1) {
    const only = outputs[0];
    body = {
      t: 'select',
      columns: [...cx.keyColumns(undefined, true), { expr: filled(only.out, col(undefined, only.out.column)), alias: only.name }],
      from: { t: 'cte', name: only.out.cte },
    };
  } else {
    body = combine(cx, inputs, (max) => outputs.map((o) => ({ expr: max(o.out), alias: o.name })), true);
  }
  body.orderBy = cx.totalOrder();
  if (plan.limit !== undefined) body.limit = plan.limit;
  return { ctes: cx.ctes, body };
}

/** Whether a metric reads another period anywhere in its inputs. */
function hasOffset(node: PlanNode): boolean {
  switch (node.kind) {
    case 'offset':
      return true;
    case 'ratio':
      return hasOffset(node.numerator) || hasOffset(node.denominator);
    case 'derived':
      return node.inputs.some((i) => hasOffset(i.node));
    default:
      return false;
  }
}
