/** The measures a metric reads, through ratios, derived formulas, cumulative windows and conversions (definitions only: no planner, no SQL). */
import type { Measure, SemanticGraph } from './graph.js';
import type { MeasureInputDef, MetricInputDef } from './schema.js';

/** Every measure a metric reads (each once, in the order met); unknown names are skipped. */
export function leafMeasuresOf(graph: SemanticGraph, name: string, seen = new Set<string>()): Measure[] {
  const metric = graph.metrics.get(name);
  if (!metric || seen.has(name)) return [];
  seen.add(name);
  const def = metric.def;
  const measure = (input: MeasureInputDef): Measure[] => {
    const m = graph.measures.get(typeof input === 'string' ? input : input.name);
    return m ? [m] : [];
  };
  const sub = (input: MetricInputDef): Measure[] => leafMeasuresOf(graph, typeof input === 'string' ? input : input.name, seen);
  let all: Measure[];
  switch (def.type) {
    case 'simple':
    case 'cumulative':
      all = measure(def.measure);
      break;
    case 'conversion':
      all = [...measure(def.base_measure), ...measure(def.conversion_measure)];
      break;
    case 'ratio':
      all = [...sub(def.numerator), ...sub(def.denominator)];
      break;
    case 'derived':
      all = def.metrics.flatMap(sub);
      break;
  }
  return [...new Set(all)];
}
