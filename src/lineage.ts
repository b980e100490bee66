/** Where a number comes from: metrics → measures → models → tables and columns. */
import { metricInputs, type SemanticGraph } from './definitions/graph.js';
import { measureInputName } from './definitions/schema.js';

export interface MetricLineage {
  metric: string;
  type: string;
  /** Metrics this one is computed from (ratio, derived). */
  inputs: string[];
  measures: { measure: string; agg: string; expr: string; model: string; table: string }[];
}

export type Lineage = MetricLineage[];

export function lineageOf(graph: SemanticGraph, metrics: string[]): Lineage {
  const out: Lineage = [];
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const metric = graph.metrics.get(name);
    if (!metric) return;
    const def = metric.def;
    const measureNames =
      def.type === 'simple' || def.type === 'cumulative'
        ? [measureInputName(def.measure)]
        : def.type === 'conversion'
          ? [measureInputName(def.base_measure), measureInputName(def.conversion_measure)]
          : [];
    const inputs = metricInputs(def);
    out.push({
      metric: name,
      type: def.type,
      inputs,
      measures: measureNames.flatMap((m) => {
        const measure = graph.measures.get(m);
        if (!measure) return [];
        const model = measure.model;
        return [{ measure: m, agg: measure.agg, expr: measure.expr, model: model.name, table: model.def.table ?? `(sql of model ${model.name})` }];
      }),
    });
    inputs.forEach(visit);
  };
  metrics.forEach(visit);
  return out;
}
