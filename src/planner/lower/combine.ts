/**
 * Puts the outputs of several nodes side by side on the request's keys: the step that combines
 * metrics aggregated on their own (MetricFlow's CombineAggregatedOutputsNode), used for ratio and
 * derived metrics and for the final answer. Never a fact-to-fact join before aggregation, so no
 * chasm or fan trap.
 */
import { type Select, type SelectColumn, type SqlExpr, col } from '../../sql/ast.js';
import type { Lowering } from './context.js';
import { filled, NULL, type Output } from './output.js';

/**
 * Puts several CTEs side by side on the keys: UNION ALL then GROUP BY, which matches NULL keys
 * and needs no join; each input has one row per key, so MAX picks its value.
 */
export function combine(cx: Lowering, inputs: Output[], outputs: (max: (o: Output) => SqlExpr) => SelectColumn[], final = false): Select {
  // Values that one CTE already holds side by side need no combining.
  if (inputs.every((o) => o.column !== '' && o.cte === inputs[0].cte)) {
    return { t: 'select', columns: [...cx.keyColumns(undefined, final), ...outputs((o) => filled(o, col(undefined, o.column)))], from: { t: 'cte', name: inputs[0].cte } };
  }
  const valueColumns = inputs.filter((o) => o.column !== '').map((o) => `${o.cte}.${o.column}`);
  // Each value's first position and first owner, looked up by name (not searched: a request of
  // many metrics would search the list once per metric).
  const firstIndex = new Map<string, number>();
  const firstOwner = new Map<string, Output>();
  valueColumns.forEach((v, i) => {
    if (!firstIndex.has(v)) firstIndex.set(v, i);
  });
  for (const o of inputs) {
    const v = `${o.cte}.${o.column}`;
    if (!firstOwner.has(v)) firstOwner.set(v, o);
  }
  const columnName = (o: Output): string => `__v${firstIndex.get(`${o.cte}.${o.column}`) ?? -1}`;
  // The first branch's NULLs carry the type of the value they stand for: Postgres and Redshift
  // resolve a UNION's column types pairwise, and NULL with NULL would become text.
  const missingValue = (v: string, branch: number): SqlExpr => {
    const owner = firstOwner.get(v);
    return branch === 0 && owner ? { t: 'nullOf', cte: owner.cte, column: owner.column } : NULL;
  };
  // Each branch names only its own value; the union fills the others with NULL by name, so the
  // SQL grows with the number of metrics, not with its square.
  // The key columns are the same in every branch: one set of them (the tree is never changed once built).
  const keys = cx.keyColumns(undefined);
  const branches: Select[] = inputs.map((o) => ({
    t: 'select',
    columns: o.column === '' ? [...keys] : [...keys, { expr: col(undefined, o.column), alias: columnName(o) }],
    from: { t: 'cte', name: o.cte },
  }));
  const columns = [...cx.plan.keys.map((k) => k.column), ...valueColumns.map((_, i) => `__v${i}`)];
  const firstBranchNull = Object.fromEntries(valueColumns.map((v, i) => [`__v${i}`, missingValue(v, 0)]));
  const keyCols = cx.keyColumns('combined', final);
  return {
    t: 'select',
    columns: [...keyCols, ...outputs((o) => filled(o, { t: 'aggregate', agg: 'max', arg: col('combined', columnName(o)) }))],
    from: { t: 'query', alias: 'combined', query: { t: 'union_all', queries: branches, byName: { columns, firstBranchNull } } },
    groupBy: cx.plan.keys.map((k) => col('combined', k.column)),
  };
}
