/**
 * No NULL in the given columns. Derived for every primary and unique entity (a NULL key joins to
 * nothing and cannot be told apart); declared with `not_null: [columns]`. Counts the rows where any
 * of the columns is NULL, showing the model's key for each sample.
 */
import type { Model, SemanticGraph } from '../../definitions/graph.js';
import type { SqlExpr } from '../../sql/ast.js';
import { failingOf, failingRows, sampleText } from '../rows.js';
import type { Check, Severity } from '../types.js';

export function notNullCheck(graph: SemanticGraph, model: Model, columns: { name: string; sql: string }[], options: { severity: Severity; derived: boolean; name?: string }): Check {
  const names = columns.map((c) => c.name);
  return {
    id: `${model.name}.${options.name ?? `not_null(${names.join(',')})`}`,
    kind: 'not_null',
    model: model.name,
    severity: options.severity,
    derived: options.derived,
    description: `${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} never NULL in ${model.name}`,
    compile(ctx) {
      return failingRows(graph, model, `check of '${model.name}'`, [], (scan) => {
        const nulls = columns.map((c): SqlExpr => ({ t: 'isNull', arg: scan.column(c.name, c.sql), negated: false }));
        return nulls.length === 1 ? nulls[0] : { t: 'or', args: nulls };
      }, ctx);
    },
    evaluate(result) {
      const { failing, samples } = failingOf(result);
      return {
        failed: failing > 0n,
        failing,
        samples,
        message: failing > 0n ? `${failing} row${failing === 1n ? '' : 's'} of ${model.name} ${failing === 1n ? 'has' : 'have'} NULL in ${names.join(' or ')}${sampleText(samples)}` : `no NULL in ${names.join(', ')}`,
      };
    },
  };
}
