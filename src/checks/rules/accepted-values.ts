/**
 * A column holds only the listed values (`accepted_values: { column, values }`), like dbt's test
 * of that name. NULL is left to not_null. Counts the rows with another value; the values are
 * literals escaped by the dialect, never pasted text.
 */
import type { Model, SemanticGraph } from '../../definitions/graph.js';
import type { SqlExpr } from '../../sql/ast.js';
import { failingOf, failingRows, sampleText } from '../rows.js';
import type { Check, Severity } from '../types.js';

export function acceptedValuesCheck(graph: SemanticGraph, model: Model, column: { name: string; sql: string }, values: (string | number | boolean)[], options: { severity: Severity; name?: string }): Check {
  const literal = (v: string | number | boolean): SqlExpr =>
    typeof v === 'string' ? { t: 'literal', value: { kind: 'string', value: v } } : typeof v === 'number' ? { t: 'literal', value: { kind: 'number', text: String(v) } } : { t: 'literal', value: { kind: 'boolean', value: v } };
  return {
    id: `${model.name}.${options.name ?? `accepted_values(${column.name})`}`,
    kind: 'accepted_values',
    model: model.name,
    severity: options.severity,
    derived: false,
    description: `${column.name} of ${model.name} is one of ${values.map((v) => JSON.stringify(v)).join(', ')}`,
    compile(ctx) {
      return failingRows(graph, model, `check of '${model.name}'`, [column], (scan) => {
        const value = scan.column(column.name, column.sql);
        return { t: 'and', args: [{ t: 'isNull', arg: value, negated: true }, { t: 'in', arg: value, list: values.map(literal), negated: true }] };
      }, ctx);
    },
    evaluate(result) {
      const { failing, samples } = failingOf(result);
      return {
        failed: failing > 0n,
        failing,
        samples,
        message: failing > 0n ? `${failing} row${failing === 1n ? '' : 's'} of ${model.name} ${failing === 1n ? 'has' : 'have'} a ${column.name} outside the accepted values${sampleText(samples)}` : `every ${column.name} is accepted`,
      };
    },
  };
}
