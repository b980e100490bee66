/**
 * An aggregation time dimension (a measure's metric_time) is never NULL and never in the future:
 * a row without a time falls out of every answer over time, and a row dated ahead of now (a
 * clock or time-zone error) shows up in periods that have not happened. Derived from the
 * definitions; "now" is the moment the run started, in UTC like the stored times.
 */
import type { Dimension, Model, SemanticGraph } from '../../definitions/graph.js';
import type { SqlExpr } from '../../sql/ast.js';
import { failingOf, failingRows, nowLiteral, sampleText, timestampText } from '../rows.js';
import type { Check, Severity } from '../types.js';

export function timeValidCheck(graph: SemanticGraph, model: Model, dimension: Dimension, options: { severity: Severity }): Check {
  return {
    id: `${model.name}.time_valid(${dimension.name})`,
    kind: 'time_valid',
    model: model.name,
    severity: options.severity,
    derived: true,
    description: `${dimension.name} of ${model.name} is never NULL and never in the future`,
    compile(ctx) {
      return failingRows(graph, model, `check of '${model.name}'`, [{ name: dimension.name, sql: dimension.expr }], (scan) => {
        const time: SqlExpr = { t: 'castTimestamp', arg: scan.column(dimension.name, dimension.expr) };
        return { t: 'or', args: [{ t: 'isNull', arg: time, negated: false }, { t: 'binary', op: '>', left: time, right: nowLiteral(ctx) }] };
      }, ctx);
    },
    evaluate(result, ctx) {
      const { failing, samples } = failingOf(result);
      return {
        failed: failing > 0n,
        failing,
        samples,
        message: failing > 0n ? `${failing} row${failing === 1n ? '' : 's'} of ${model.name} ${failing === 1n ? 'has' : 'have'} ${dimension.name} NULL or after ${timestampText(ctx.now)} UTC${sampleText(samples)}` : `${dimension.name} is set and not in the future`,
      };
    },
  };
}
