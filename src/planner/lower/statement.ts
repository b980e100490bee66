/**
 * The statement of a request: each requested metric lowered (memoised in the context), the
 * request's time spine when it fills gaps, all combined on the keys, renamed to the requested
 * references, ordered and limited. A request without metrics is a listing (listing.ts).
 */
import { type Select, type Statement, col } from '../../sql/ast.js';
import { combine } from './combine.js';
import type { Lowering } from './context.js';
import { groupByValues } from './listing.js';
import { filled } from './output.js';
import { requestSpine } from './time-spine.js';

export function statement(cx: Lowering): Statement {
  const plan = cx.plan;
  if (plan.outputs.length === 0) return groupByValues(cx);
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
  const orderBy = plan.order.length
    ? plan.order.map((o) => ({ expr: col(undefined, cx.outputName(o.column)), desc: o.desc }))
    : plan.keys.map((k) => ({ expr: col(undefined, k.text) }));
  body.orderBy = orderBy;
  if (plan.limit !== undefined) body.limit = plan.limit;
  return { ctes: cx.ctes, body };
}

