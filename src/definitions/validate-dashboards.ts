/**
 * What the project asks of its metrics: saved queries and dashboards, checked against the
 * metrics and dimensions of the graph (a tile's metric, grain, range and breakdown).
 */
import { didYouMean } from '../errors.js';
import type { ReportProblem, SemanticGraph } from './graph.js';
import type { LoadedDefinitions, SourceRef } from './load.js';
import { metricInputs } from './metric-inputs.js';
import { type DashboardDef, GRAIN_ORDER, type Grain, type MeasureInputDef, measureInputName, RELATIVE_RANGE_PATTERN } from './schema.js';

/** Adds the saved queries; names are unique. */
export function addSavedQueries(graph: SemanticGraph, savedQueries: LoadedDefinitions['savedQueries'], at: ReportProblem): void {
  for (const { def, source } of savedQueries) {
    if (graph.savedQueries.has(def.name)) at(source, ['name'], `saved query '${def.name}' is defined twice; rename one of them`);
    else graph.savedQueries.set(def.name, { name: def.name, def, source });
  }
}

/** Adds the dashboards (names are unique) and checks their tiles. Needs models and metrics added first. */
export function addDashboards(graph: SemanticGraph, dashboards: LoadedDefinitions['dashboards'], at: ReportProblem): void {
  for (const { def, source } of dashboards) {
    if (graph.dashboards.has(def.name)) at(source, ['name'], `dashboard '${def.name}' is defined twice; rename one of them`);
    else graph.dashboards.set(def.name, { name: def.name, def, source });
    checkDashboard(graph, def, source, at);
  }
}

function checkDashboard(graph: SemanticGraph, def: DashboardDef, source: SourceRef, at: ReportProblem): void {
  const breakdowns = new Set<string>();
  for (const [entity, owners] of graph.entityOwners) {
    for (const model of owners) for (const d of model.dimensions.values()) if (d.type === 'categorical') breakdowns.add(`${entity}.${d.name}`);
  }
  def.tiles.forEach((tile, i) => {
    const metric = graph.metrics.get(tile.metric);
    if (!metric) {
      at(source, ['tiles', i, 'metric'], `unknown metric '${tile.metric}'.${didYouMean(tile.metric, graph.metrics.keys())} A tile shows one metric defined under 'metrics'`);
    } else {
      const finest = finestTimeGrain(graph, metric.name, new Set());
      if (finest === undefined) {
        // A metric that names an unknown measure or metric is reported there, once: its missing
        // time axis is a consequence, not a second problem.
        if (!refersToUnknown(graph, metric.name, new Set())) at(source, ['tiles', i, 'metric'], `metric '${tile.metric}' has no time axis, so a tile cannot chart it over time; choose a metric whose measures have a time dimension`);
      } else if (GRAIN_ORDER[tile.grain] < GRAIN_ORDER[finest]) {
        at(source, ['tiles', i, 'grain'], `metric '${tile.metric}' is recorded by ${finest}, so it cannot be charted by ${tile.grain}; use grain: ${finest} or coarser`);
      }
    }
    if (typeof tile.range === 'string') {
      const count = Number(RELATIVE_RANGE_PATTERN.exec(tile.range)?.[1]);
      if (count < 1) at(source, ['tiles', i, 'range'], `a range covers at least one period, like 'last 1 month'`);
    } else if (tile.range.from > tile.range.to) {
      at(source, ['tiles', i, 'range', 'to'], `the range ends (${tile.range.to}) before it starts (${tile.range.from}); swap from and to`);
    }
    if (tile.breakdown !== undefined && !breakdowns.has(tile.breakdown)) {
      at(source, ['tiles', i, 'breakdown'], `unknown dimension '${tile.breakdown}'.${didYouMean(tile.breakdown, breakdowns)} A breakdown is a categorical dimension reference such as entity.dimension`);
    }
  });
}

/** Whether a metric reads, directly or through its inputs, a measure or metric that is not defined. */
function refersToUnknown(graph: SemanticGraph, name: string, seen: Set<string>): boolean {
  const metric = graph.metrics.get(name);
  if (!metric) return true;
  if (seen.has(name)) return false;
  seen.add(name);
  const def = metric.def;
  const unknown = (input: MeasureInputDef): boolean => !graph.measures.has(measureInputName(input));
  switch (def.type) {
    case 'simple':
    case 'cumulative':
      return unknown(def.measure);
    case 'conversion':
      return unknown(def.base_measure) || unknown(def.conversion_measure);
    default:
      return metricInputs(def).some((input) => refersToUnknown(graph, input, seen));
  }
}

/**
 * The finest grain a metric can be grouped by over time: the coarsest granularity among the
 * time dimensions of the measures it is computed from; undefined when one of them has none.
 */
function finestTimeGrain(graph: SemanticGraph, name: string, seen: Set<string>): Grain | undefined {
  const metric = graph.metrics.get(name);
  if (!metric || seen.has(name)) return undefined;
  seen.add(name);
  const def = metric.def;
  const grainOf = (input: MeasureInputDef): Grain | undefined => graph.measures.get(measureInputName(input))?.timeDimension?.granularity;
  let grains: (Grain | undefined)[];
  switch (def.type) {
    case 'simple':
    case 'cumulative':
      grains = [grainOf(def.measure)];
      break;
    case 'conversion':
      grains = [grainOf(def.base_measure), grainOf(def.conversion_measure)];
      break;
    default:
      grains = metricInputs(def).map((input) => finestTimeGrain(graph, input, new Set(seen)));
  }
  if (grains.length === 0 || grains.some((g) => g === undefined)) return undefined;
  return (grains as Grain[]).reduce((a, b) => (GRAIN_ORDER[a] >= GRAIN_ORDER[b] ? a : b));
}
