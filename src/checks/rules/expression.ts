/**
 * A row condition written in SQL (`expression: amount >= 0`) that every row must meet, like dbt's
 * expression_is_true: the rows where it is false fail (where it is NULL, nothing is known and the
 * row passes). The SQL is an analyst's, checked when the definitions load like any `expr`
 * (src/definitions/sql-check.ts), and evaluated inside the model's projection.
 */
import type { Model, SemanticGraph } from '../../definitions/graph.js';
import { failingOf, failingRows, sampleText } from '../rows.js';
import type { Check, Severity } from '../types.js';

/** The projection's name for the condition; model names start with a letter, so it cannot collide. */
const CONDITION = '_condition';

export function expressionCheck(graph: SemanticGraph, model: Model, sql: string, options: { severity: Severity; name?: string; index: number }): Check {
  return {
    id: `${model.name}.${options.name ?? `expression(${options.index + 1})`}`,
    kind: 'expression',
    model: model.name,
    severity: options.severity,
    derived: false,
    description: `every row of ${model.name} meets ${sql.trim()}`,
    compile(ctx) {
      return failingRows(graph, model, `check of '${model.name}'`, [], (scan) => ({ t: 'not', arg: scan.column(CONDITION, sql) }), ctx);
    },
    evaluate(result) {
      const { failing, samples } = failingOf(result);
      return {
        failed: failing > 0n,
        failing,
        samples,
        message: failing > 0n ? `${failing} row${failing === 1n ? '' : 's'} of ${model.name} ${failing === 1n ? 'does' : 'do'} not meet ${sql.trim()}${sampleText(samples)}` : `every row meets ${sql.trim()}`,
      };
    },
  };
}
