/**
 * What can be asked: every metric with its formula, the dimensions it can be grouped by and the
 * grains it supports; every dimension with its type. The API and the CLI describe the same thing.
 */
import { compileRequest } from './compile.js';
import { metricInputs, type Measure, type SemanticGraph } from './definitions/graph.js';
import { GRAIN_ORDER, GRAINS, type Grain, measureInputName, type MetricDef } from './definitions/schema.js';
import type { Deprecation } from './deprecation.js';
import { TallyError } from './errors.js';
import { lineageOf, type Lineage } from './lineage.js';
import { type DisplayFormat, displayFormatOf } from './output.js';
import { resolveFrom } from './planner/joins.js';
import { knownReferences, parseReference } from './query/references.js';

export interface CatalogDimension {
  /** The reference to group or filter by, e.g. user.country. */
  name: string;
  type: 'categorical' | 'time' | 'entity';
  entity: string;
  model: string;
  description?: string;
}

export interface CatalogMetric {
  name: string;
  type: MetricDef['type'];
  label?: string;
  description?: string;
  owner?: string;
  formula: string;
  dimensions: string[];
  grains: Grain[];
  /** Computed per period (a window, a period to date, a comparison with an earlier period), so every request groups it by metric_time. */
  requiresTime: boolean;
  /** The metric and every metric, measure, dimension, model, table and column it is computed from. */
  lineage: Lineage;
  deprecated?: Deprecation;
  /** How values are displayed (the definition's `format` and `decimals`); undefined: as they are. */
  format?: DisplayFormat;
}

export interface Catalog {
  metrics: CatalogMetric[];
  dimensions: CatalogDimension[];
  /** Content hash of the definitions described. */
  version: string;
}

export function buildCatalog(graph: SemanticGraph): Catalog {
  const dimensions = catalogDimensions(graph);
  const metrics = [...graph.metrics.values()].map((metric): CatalogMetric => {
    const measures = leafMeasures(graph, metric.name);
    const timed = measures.length > 0 && measures.every((m) => m.timeDimension);
    return {
      name: metric.name,
      type: metric.def.type,
      label: metric.def.label,
      description: metric.def.description,
      owner: metric.def.owner,
      formula: formulaOf(metric.def),
      dimensions: dimensions.filter((d) => measures.length > 0 && measures.every((m) => reachable(graph, m, d.name))).map((d) => d.name),
      // Grains finer than an hour are offered only where a time dimension holds such times.
      grains: timed ? GRAINS.filter((g) => GRAIN_ORDER[g] >= Math.min(GRAIN_ORDER.hour, ...measures.map((m) => GRAIN_ORDER[m.timeDimension?.granularity ?? 'hour']))) : [],
      requiresTime: timed && !compilesWithoutTime(graph, metric.name),
      lineage: lineageOf(graph, [metric.name]),
      deprecated: metric.def.deprecated,
      format: displayFormatOf(metric.def),
    };
  });
  return { metrics, dimensions, version: graph.version };
}

function catalogDimensions(graph: SemanticGraph): CatalogDimension[] {
  const out: CatalogDimension[] = [];
  for (const name of knownReferences(graph)) {
    if (name.startsWith('metric_time.')) continue;
    const [entity, dim] = name.split('.');
    const owner = (graph.entityOwners.get(entity) ?? []).find((m) => (dim ? m.dimensions.has(dim) : true));
    if (!owner) continue;
    const dimension = dim ? owner.dimensions.get(dim) : undefined;
    out.push({
      name,
      type: dimension ? dimension.type : 'entity',
      entity,
      model: owner.name,
      description: dimension?.description,
    });
  }
  return out;
}

function compilesWithoutTime(graph: SemanticGraph, metric: string): boolean {
  try {
    compileRequest(graph, { metrics: [metric] });
    return true;
  } catch (e) {
    if (e instanceof TallyError) return false;
    throw e;
  }
}

function reachable(graph: SemanticGraph, measure: Measure, reference: string): boolean {
  try {
    const ref = parseReference(graph, reference);
    if (ref.kind === 'metric_time') return measure.timeDimension !== undefined;
    if (ref.kind === 'metric') return false;
    resolveFrom(graph, measure.model, ref, 'catalog');
    return true;
  } catch (e) {
    if (e instanceof TallyError) return false;
    throw e;
  }
}

/** The measures a metric is finally computed from. */
export function leafMeasures(graph: SemanticGraph, name: string, seen = new Set<string>()): Measure[] {
  if (seen.has(name)) return [];
  seen.add(name);
  const def = graph.metrics.get(name)?.def;
  if (!def) return [];
  const names =
    def.type === 'simple' || def.type === 'cumulative'
      ? [measureInputName(def.measure)]
      : def.type === 'conversion'
        ? [measureInputName(def.base_measure)]
        : [];
  const own = names.map((n) => graph.measures.get(n)).filter((m): m is Measure => m !== undefined);
  return [...own, ...metricInputs(def).flatMap((m) => leafMeasures(graph, m, seen))];
}

export function formulaOf(def: MetricDef): string {
  const filter = def.filter ? ` where ${def.filter}` : '';
  const input = (i: string | { name: string; filter?: string }): string => (typeof i === 'string' ? i : `${i.name}${i.filter ? ` where ${i.filter}` : ''}`);
  switch (def.type) {
    case 'simple':
      return `${input(def.measure)}${filter}`;
    case 'ratio':
      return `${input(def.numerator)} / ${input(def.denominator)}${filter}`;
    case 'derived':
      return `${def.expr}${filter}`;
    case 'cumulative': {
      const over = def.window ? `over the ${def.window} ending at each period` : def.grain_to_date ? `${def.grain_to_date} to date` : 'all time to date';
      return `${input(def.measure)} ${over}${filter}`;
    }
    case 'conversion':
      return `${def.calculation === 'conversions' ? 'conversions' : 'share'} of ${input(def.base_measure)} followed by ${input(def.conversion_measure)} for the same ${def.entity}${def.window ? ` within ${def.window}` : ''}${filter}`;
  }
}

/** Display formats by metric name, for the metrics that define one. */
export function metricFormats(graph: SemanticGraph): Map<string, DisplayFormat> {
  const out = new Map<string, DisplayFormat>();
  for (const metric of graph.metrics.values()) {
    const format = displayFormatOf(metric.def);
    if (format) out.set(metric.name, format);
  }
  return out;
}
