/**
 * What a rollup stores for the metrics it declares (README, "Rollups": what is kept): the
 * re-aggregable parts of the measures that simple, ratio and derived metrics read, and, for every
 * metric that cannot be recomputed from parts (distinct counts, percentiles, semi-additive
 * balances, cumulative windows, conversions, offsets, filters on columns the rollup does not
 * keep), its finished value at exactly the rollup's grain and dimensions.
 *
 * Parts follow how each aggregation combines (Gray et al., "Data Cube", 1997: distributive and
 * algebraic aggregates): sum → sum, count → count, average → sum and count of non-null values,
 * min → min, max → max. Holistic aggregates (distinct count, median, percentile) have no parts.
 */
import type { Measure, SemanticGraph } from '../definitions/graph.js';
import type { MeasureInputDef, MetricInputDef } from '../definitions/schema.js';
import { collectRefs } from '../query/expression.js';
import { parseExpressionCached } from '../query/parse-cache.js';
import type { MeasurePart } from './types.js';

/**
 * The parts a measure is kept as, or undefined when it has none (holistic or semi-additive).
 * Every measure also keeps `count` (of non-null values): COUNT is never NULL for a group that has
 * rows, so a rollup row belongs to the measure exactly when its count is not NULL (a row can hold
 * only finished metrics, at keys where the measure has no rows).
 */
export function partsOfMeasure(measure: Measure): MeasurePart[] | undefined {
  if (measure.def.non_additive_dimension) return undefined;
  switch (measure.agg) {
    case 'sum':
    case 'sum_boolean':
    case 'average':
      return ['sum', 'count'];
    case 'count':
      return ['count'];
    case 'min':
      return ['min', 'count'];
    case 'max':
      return ['max', 'count'];
    default:
      return undefined;
  }
}

/** What a rollup keeps: measures with their parts, and finished metrics. */
export interface RollupExpansion {
  measures: { name: string; parts: MeasurePart[] }[];
  finishedMetrics: string[];
}

/**
 * Expands declared metrics into stored parts and finished metrics. A metric is kept as parts when
 * every measure it reads has parts and every filter on the way (the metric's, its inputs', its
 * measure's) names only the rollup's dimensions, so that a request can apply the filter to the
 * rollup's rows; otherwise it is kept finished. Unknown metrics are left out (reported elsewhere).
 */
export function expandRollupMetrics(graph: SemanticGraph, metrics: string[], dimensions: string[]): RollupExpansion {
  const kept = new Set(dimensions);
  const parts = new Map<string, Set<MeasurePart>>();
  const finished: string[] = [];
  for (const name of metrics) {
    if (!graph.metrics.has(name)) continue;
    const found = new Map<string, MeasurePart[]>();
    if (partsOfMetric(graph, name, kept, found, new Set())) {
      for (const [measure, list] of found) {
        const set = parts.get(measure) ?? new Set<MeasurePart>();
        for (const p of list) set.add(p);
        parts.set(measure, set);
      }
    } else if (!finished.includes(name)) finished.push(name);
  }
  const order: MeasurePart[] = ['sum', 'count', 'min', 'max'];
  return {
    measures: [...parts].map(([name, set]) => ({ name, parts: order.filter((p) => set.has(p)) })),
    finishedMetrics: finished,
  };
}

/** Whether a filter (as written in a definition) names only the kept dimensions. */
function filterKept(text: string | undefined, kept: Set<string>, owner: string): boolean {
  if (text === undefined) return true;
  try {
    return collectRefs(parseExpressionCached(text, `metric '${owner}'`)).every((r) => kept.has(r.ref));
  } catch {
    return false;
  }
}

function partsOfMetric(graph: SemanticGraph, name: string, kept: Set<string>, out: Map<string, MeasurePart[]>, seen: Set<string>): boolean {
  const metric = graph.metrics.get(name);
  if (!metric || seen.has(name)) return false;
  seen.add(name);
  const def = metric.def;
  if (!filterKept(def.filter, kept, name)) return false;
  const measureParts = (input: MeasureInputDef): boolean => {
    const measure = graph.measures.get(typeof input === 'string' ? input : input.name);
    if (!measure || !measure.timeDimension) return false;
    if (typeof input !== 'string' && !filterKept(input.filter, kept, name)) return false;
    const list = partsOfMeasure(measure);
    if (!list) return false;
    out.set(measure.name, list);
    return true;
  };
  const metricInput = (input: MetricInputDef): boolean => {
    if (typeof input === 'string') return partsOfMetric(graph, input, kept, out, new Set(seen));
    // An offset reads other periods than the row's own: kept finished (see ROLLUPS "Expansion").
    if (input.offset_window || input.offset_to_grain) return false;
    return filterKept(input.filter, kept, name) && partsOfMetric(graph, input.name, kept, out, new Set(seen));
  };
  switch (def.type) {
    case 'simple':
      return measureParts(def.measure);
    case 'ratio':
      return metricInput(def.numerator) && metricInput(def.denominator);
    case 'derived':
      return def.metrics.every(metricInput);
    default:
      return false;
  }
}
