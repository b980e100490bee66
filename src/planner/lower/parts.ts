/**
 * Measure parts instead of finished metrics (for rollups, src/rollups/build.ts): per group of the
 * plan's keys, the re-aggregable parts of measures (a sum, a count of non-null values, a minimum,
 * a maximum) and, for change detection, the number of rows read. Each measure is read by the same
 * leaf scan an ordinary metric uses (keys, joins, time bounds, time zone), so a part aggregated
 * again over a coarser group gives what the measure's own aggregation gives there.
 */
import type { Measure } from '../../definitions/graph.js';
import { TallyError } from '../../errors.js';
import type { Select, SelectColumn, SqlExpr, Statement } from '../../sql/ast.js';
import { combine } from './combine.js';
import type { Lowering } from './context.js';
import { leafScan } from './leaf-scan.js';
import type { Output } from './output.js';

/** One output column: a part of a measure, or the count of the measure's rows (`rows`). */
export interface PartColumn {
  measure: Measure;
  part: 'sum' | 'count' | 'min' | 'max' | 'rows';
  /** The column's name in the answer. */
  alias: string;
}

/** The statement: the plan's keys (named as requested, typed as requested), then the part columns in order. */
export function partsStatement(cx: Lowering, columns: PartColumn[]): Statement {
  if (columns.length === 0) throw new TallyError('INVALID_REQUEST', 'no measure parts to compute');
  // Measures of one model read by the same time dimension share one scan.
  const groups = new Map<string, PartColumn[]>();
  for (const c of columns) {
    const key = `${c.measure.model.name}/${c.measure.timeDimension?.name ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const outputs = new Map<string, Output>();
  for (const group of groups.values()) {
    const first = group[0].measure;
    const { scan, keys } = leafScan(cx, { measure: first, filters: cx.plan.where }, cx.plan.range, `measure '${first.name}'`, { keys: 'all' });
    const values: SelectColumn[] = group.map((c) => ({ expr: partAggregate(cx, c, scan.measure(c.measure)), alias: c.alias }));
    const query: Select = { t: 'select', columns: [...keys, ...values], ...scan.build(), groupBy: keys.map((k) => k.expr) };
    const cte = cx.addCte(`parts_${first.model.name}`, query, `parts of ${group.map((c) => c.measure.name).filter((n, i, all) => all.indexOf(n) === i).join(', ')} (${first.model.name})`);
    for (const c of group) outputs.set(c.alias, { cte, column: c.alias });
  }
  const inputs = columns.map((c) => outputs.get(c.alias) as Output);
  const body = combine(cx, inputs, (max) => inputs.map((o) => ({ expr: max(o), alias: o.column })), true);
  body.orderBy = cx.totalOrder();
  return { ctes: cx.ctes, body };
}

function partAggregate(cx: Lowering, c: PartColumn, arg: SqlExpr): SqlExpr {
  switch (c.part) {
    case 'rows':
      return { t: 'aggregate', agg: 'count_star' };
    case 'sum':
      // A sum of booleans is counted as the measure counts it (true as 1), on every dialect.
      return c.measure.agg === 'sum_boolean' ? cx.aggregate(c.measure, arg) : { t: 'aggregate', agg: 'sum', arg };
    case 'count':
      // COUNT(expr): a count measure's count, and an average's count of non-null values.
      return { t: 'aggregate', agg: 'count', arg };
    case 'min':
    case 'max':
      return { t: 'aggregate', agg: c.part, arg };
  }
}
