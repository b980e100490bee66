/**
 * Every foreign entity finds its row in the model where it is the primary (or unique) key:
 * orders whose user_id is not in users are orphans. Derived from the definitions. An orphan keeps
 * its own measure but drops out of every group by the other model's dimensions (NULL country), so
 * the check reports the orphans' share of the rows that carry the key, and sample orphans.
 */
import type { Model, SemanticGraph } from '../../definitions/graph.js';
import { col, type SqlExpr } from '../../sql/ast.js';
import { countOf, failingOf, failingRows, sampleText, scanOf } from '../rows.js';
import type { Check, Severity } from '../types.js';

export function relationshipCheck(graph: SemanticGraph, model: Model, entity: string, parent: Model, options: { severity: Severity }): Check {
  const child = model.entities.get(entity);
  const target = parent.entities.get(entity);
  if (!child || !target) throw new Error(`entity ${entity} missing in ${model.name} or ${parent.name}`);
  const purpose = `check of '${model.name}'`;
  return {
    id: `${model.name}.relationship(${entity}->${parent.name})`,
    kind: 'relationship',
    model: model.name,
    severity: options.severity,
    derived: true,
    description: `every ${entity} of ${model.name} (${child.expr}) is in ${parent.name} (${target.expr})`,
    compile(ctx) {
      const parentScan = scanOf(graph, parent, purpose);
      parentScan.column(target.name, target.expr);
      const parentRows = parentScan.build().from;
      if (!parentRows) throw new Error('a scan always has a FROM');
      // The rows that carry a key at all: the share's denominator.
      const all = scanOf(graph, model, purpose);
      const key = all.column(child.name, child.expr);
      const checked: SqlExpr = { t: 'subquery', query: { t: 'select', columns: [{ expr: { t: 'aggregate', agg: 'count', arg: key }, alias: 'checked' }], ...all.build() } };
      return failingRows(
        graph,
        model,
        purpose,
        [{ name: child.name, sql: child.expr }],
        (scan) => {
          const own = scan.column(child.name, child.expr);
          scan.join({ type: 'left', item: parentRows, on: { t: 'binary', op: '=', left: own, right: col(parent.name, target.name) } });
          return { t: 'and', args: [{ t: 'isNull', arg: own, negated: true }, { t: 'isNull', arg: col(parent.name, target.name), negated: false }] };
        },
        ctx,
        () => [{ expr: checked, alias: 'checked' }],
      );
    },
    evaluate(result) {
      const { failing, samples, rows } = failingOf(result, ['checked']);
      const checked = rows.length ? countOf(rows[0].checked) : undefined;
      const share = checked ? ` (${((Number(failing) / Number(checked)) * 100).toPrecision(3)}% of ${checked} rows with a ${entity})` : '';
      return {
        failed: failing > 0n,
        failing,
        checked,
        samples,
        message: failing > 0n ? `${failing} row${failing === 1n ? '' : 's'} of ${model.name} ${failing === 1n ? 'has' : 'have'} a ${entity} not in ${parent.name}${share}${sampleText(samples)}` : `every ${entity} is in ${parent.name}`,
      };
    },
  };
}
