/**
 * The number of rows of a model lies in a range (`row_count: { min, max }`): an empty load or a
 * doubled one. Reports the count as the observed value.
 */
import type { Model, SemanticGraph } from '../../definitions/graph.js';
import { countOf, rowObjects, scanOf } from '../rows.js';
import type { Check, Severity } from '../types.js';

export function rowCountCheck(graph: SemanticGraph, model: Model, range: { min?: number; max?: number }, options: { severity: Severity; name?: string }): Check {
  const bounds = [range.min !== undefined ? `at least ${range.min}` : '', range.max !== undefined ? `at most ${range.max}` : ''].filter(Boolean).join(' and ');
  return {
    id: `${model.name}.${options.name ?? 'row_count'}`,
    kind: 'row_count',
    model: model.name,
    severity: options.severity,
    derived: false,
    description: `${model.name} has ${bounds || 'any number of'} rows`,
    compile() {
      const scan = scanOf(graph, model, `check of '${model.name}'`);
      return { ctes: [], body: { t: 'select', columns: [{ expr: { t: 'aggregate', agg: 'count_star' }, alias: 'row_count' }], ...scan.build() } };
    },
    evaluate(result) {
      const count = countOf(rowObjects(result)[0]?.row_count);
      const low = range.min !== undefined && count < BigInt(range.min);
      const high = range.max !== undefined && count > BigInt(range.max);
      return {
        failed: low || high,
        failing: 0n,
        observed: count.toString(),
        samples: [],
        message: low || high ? `${model.name} has ${count} rows; expected ${bounds}` : `${count} rows`,
      };
    },
  };
}
