/**
 * Where a number comes from: metrics → measures and dimensions → models → tables and columns.
 *
 * One entry per metric asked for, self-contained: a ratio lists the measures of its numerator and
 * denominator, a derived metric those of every input, a conversion its base and conversion
 * measures, and a metric used inside a filter (`user.lifetime_revenue > 100`) the measures it
 * aggregates. Metrics a request did not ask for get no entry of their own; they appear in the
 * entry's `computedFrom`. Table columns come from column-lineage.ts (through a SQL model's SELECT
 * to its base tables).
 */
import { columnsOfExpr, type ColumnRef } from './definitions/column-lineage.js';
import { type Measure, metricInputs, type Model, type SemanticGraph } from './definitions/graph.js';
import { measureInputName, type MeasureInputDef, type MetricDef, type MetricInputDef } from './definitions/schema.js';
import { collectRefs, type Expression } from './query/expression.js';
import { parseExpressionCached } from './query/parse-cache.js';
import { parseReference } from './query/references.js';

export type { ColumnRef };

/** A measure as a metric reads it. */
export interface MeasureLineage {
  measure: string;
  agg: string;
  /** The SQL expression over the model's rows, as defined. */
  expr: string;
  model: string;
  /** The model's table, or `(sql of model <name>)` for a model defined by a SELECT. */
  table: string;
  /** The metric that aggregates this measure (the entry's own metric or one it is computed from). */
  metric: string;
  /** The table columns `expr` reads (through the model's SELECT for a SQL model). */
  columns: ColumnRef[];
}

/** A dimension (or entity key, or metric_time) that a filter or a group-by reads. */
export interface DimensionLineage {
  /** The reference as written: `order.status`, `user`, `metric_time`. */
  dimension: string;
  model: string;
  expr: string;
  table: string;
  columns: ColumnRef[];
}

/** One metric of a computation: its type, the metrics it is computed from, the metrics its filters use. */
export interface MetricNode {
  metric: string;
  type: string;
  /** Metrics this one is computed from (ratio, derived). */
  inputs: string[];
  /** Metrics that its filters use (`listing.bookings > 5` uses bookings). */
  filterMetrics: string[];
}

/** The lineage of one requested metric. */
export interface MetricLineage extends MetricNode {
  /** Every measure it reads, through its inputs and the metrics its filters use. */
  measures: MeasureLineage[];
  /** Every dimension its filters read; in an answer also the request's group-bys and filters. */
  dimensions: DimensionLineage[];
  /** Every other metric in its computation, each once, in the order met. */
  computedFrom: MetricNode[];
}

export type Lineage = MetricLineage[];

/** What a request adds to each metric's lineage: what it groups by and its filters. */
export interface RequestUse {
  groupBy?: string[];
  filters?: Expression[];
}

/**
 * Lineages already worked out, per graph and per metric with the request's references: a request
 * costs a lookup (compiling a metric takes well under a millisecond; tracing it again would not).
 * The entries are shared: callers must not change them.
 */
const cache = new WeakMap<SemanticGraph, Map<string, MetricLineage>>();
const MAX_ENTRIES = 5000;

/** The lineage of `metrics` (in that order) as `request` uses them; unknown names are skipped. */
export function lineageOf(graph: SemanticGraph, metrics: string[], request: RequestUse = {}): Lineage {
  let byKey = cache.get(graph);
  if (!byKey) cache.set(graph, (byKey = new Map()));
  const refs = (request.filters ?? []).flatMap((e) => collectRefs(e).map((r) => r.ref));
  const requestKey = `${(request.groupBy ?? []).join(',')}\0${refs.join(',')}`;
  const out: Lineage = [];
  for (const name of metrics) {
    if (!graph.metrics.has(name)) continue;
    const key = `${name}\0${requestKey}`;
    let entry = byKey.get(key);
    if (!entry) {
      entry = metricLineage(graph, name, request);
      if (byKey.size >= MAX_ENTRIES) byKey.delete(byKey.keys().next().value as string);
      byKey.set(key, entry);
    }
    out.push(entry);
  }
  return out;
}

function metricLineage(graph: SemanticGraph, root: string, request: RequestUse): MetricLineage {
  const nodes = new Map<string, MetricNode>();
  const measures = new Map<string, MeasureLineage>();
  const dimensions = new Map<string, DimensionLineage>();
  const refTexts: string[] = [...(request.groupBy ?? [])];

  /** References of filter texts; metrics among them are visited and returned. */
  const filterMetrics = (texts: (string | undefined)[], extra: Expression[] = []): string[] => {
    const exprs = [...texts.flatMap((t) => (t ? parsed(t) : [])), ...extra];
    const found: string[] = [];
    for (const { ref } of exprs.flatMap((e) => collectRefs(e))) {
      const metric = metricOfRef(graph, ref);
      if (metric) {
        if (!found.includes(metric)) found.push(metric);
      } else refTexts.push(ref);
    }
    return found;
  };

  /** Metrics reached from the root through inputs only: the ones grouped by the request's metric_time. */
  const timed = new Set<string>();
  const visit = (name: string, viaInputs: boolean): void => {
    if (viaInputs) timed.add(name);
    const metric = graph.metrics.get(name);
    if (!metric || nodes.has(name)) return;
    const def = metric.def;
    const node: MetricNode = { metric: name, type: def.type, inputs: metricInputs(def), filterMetrics: [] };
    nodes.set(name, node);
    const uses = measureInputs(def);
    for (const input of uses) {
      const measure = graph.measures.get(measureInputName(input));
      if (measure) addMeasure(measures, measure, name);
    }
    node.filterMetrics = filterMetrics([def.filter, ...uses.map(inputFilter), ...metricInputDefs(def).map(inputFilter)]);
    for (const input of node.inputs) visit(input, viaInputs);
    for (const input of node.filterMetrics) visit(input, false);
  };
  visit(root, true);
  const rootNode = nodes.get(root) as MetricNode;
  for (const m of filterMetrics([], request.filters ?? [])) {
    if (!rootNode.filterMetrics.includes(m)) rootNode.filterMetrics.push(m);
    visit(m, false);
  }

  const measureList = [...measures.values()];
  const timedMeasures = measureList.filter((m) => timed.has(m.metric));
  for (const text of refTexts) addDimension(graph, dimensions, text, timedMeasures);
  return {
    ...rootNode,
    measures: measureList,
    dimensions: [...dimensions.values()],
    computedFrom: [...nodes.values()].filter((n) => n !== rootNode),
  };
}

function addMeasure(out: Map<string, MeasureLineage>, measure: Measure, metric: string): void {
  const key = `${metric}\0${measure.name}`;
  if (out.has(key)) return;
  const model = measure.model;
  out.set(key, { measure: measure.name, agg: measure.agg, expr: measure.expr, model: model.name, table: tableOf(model), metric, columns: columnsOfExpr(model, measure.expr) });
}

/** A dimension, entity or metric_time reference, resolved to the models that serve it. */
function addDimension(graph: SemanticGraph, out: Map<string, DimensionLineage>, text: string, measures: MeasureLineage[]): void {
  let ref;
  try {
    ref = parseReference(graph, text);
  } catch {
    return; // validated where the request or definition was read; nothing to trace here
  }
  const add = (model: Model, expr: string): void => {
    const key = `${ref.text}\0${model.name}`;
    if (!out.has(key)) out.set(key, { dimension: ref.text, model: model.name, expr, table: tableOf(model), columns: columnsOfExpr(model, expr) });
  };
  switch (ref.kind) {
    case 'metric_time':
      // Each measure's own time dimension is its metric_time.
      for (const m of measures) {
        const time = graph.measures.get(m.measure)?.timeDimension;
        if (time) add(time.model, time.expr);
      }
      break;
    case 'dimension': {
      const owner = ref.entityPath[ref.entityPath.length - 1];
      for (const model of graph.entityOwners.get(owner) ?? []) {
        const dim = model.dimensions.get(ref.dimension);
        if (dim) add(model, dim.expr);
      }
      break;
    }
    case 'entity': {
      const entity = ref.entityPath[ref.entityPath.length - 1];
      for (const model of graph.entityOwners.get(entity) ?? []) {
        const e = model.entities.get(entity);
        if (e) add(model, e.expr);
      }
      break;
    }
    case 'metric':
      break;
  }
}

function metricOfRef(graph: SemanticGraph, text: string): string | undefined {
  try {
    const ref = parseReference(graph, text);
    return ref.kind === 'metric' ? ref.metric : undefined;
  } catch {
    return undefined;
  }
}

function parsed(text: string): Expression[] {
  try {
    return [parseExpressionCached(text, 'a filter')];
  } catch {
    return []; // filters are validated when the project loads; an unreadable one reads nothing
  }
}

function tableOf(model: Model): string {
  return model.def.table ?? `(sql of model ${model.name})`;
}

function measureInputs(def: MetricDef): MeasureInputDef[] {
  if (def.type === 'simple' || def.type === 'cumulative') return [def.measure];
  if (def.type === 'conversion') return [def.base_measure, def.conversion_measure];
  return [];
}

function metricInputDefs(def: MetricDef): MetricInputDef[] {
  if (def.type === 'ratio') return [def.numerator, def.denominator];
  if (def.type === 'derived') return def.metrics;
  return [];
}

function inputFilter(input: MeasureInputDef | MetricInputDef): string | undefined {
  return typeof input === 'string' ? undefined : input.filter;
}
