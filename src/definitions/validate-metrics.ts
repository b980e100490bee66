/**
 * Metrics: each one's inputs (measures, metrics), windows and grains checked against the graph,
 * and the metrics' references to each other checked for cycles.
 */
import { didYouMean } from '../errors.js';
import type { Measure, Metric, ReportProblem, SemanticGraph } from './graph.js';
import type { LoadedDefinitions } from './load.js';
import { metricInputs } from './metric-inputs.js';
import { type MeasureInputDef, measureInputName, windowUnit } from './schema.js';

/** Adds every metric (names are unique), then checks each one and the graph of their references. Needs the models added first. */
export function addMetrics(graph: SemanticGraph, metrics: LoadedDefinitions['metrics'], at: ReportProblem): void {
  for (const { def, source } of metrics) {
    if (graph.metrics.has(def.name)) {
      at(source, ['name'], `metric '${def.name}' is defined twice; rename one of them`);
      continue;
    }
    graph.metrics.set(def.name, { name: def.name, def, source });
  }
  for (const metric of graph.metrics.values()) checkMetric(graph, metric, at);
  checkCycles(graph, at);
}

function checkMetric(graph: SemanticGraph, metric: Metric, at: ReportProblem): void {
  const def = metric.def;
  const needMeasure = (input: MeasureInputDef, key: string): Measure | undefined => {
    const name = measureInputName(input);
    const m = graph.measures.get(name);
    if (!m) {
      at(metric.source, [key], `unknown measure '${name}'.${didYouMean(name, graph.measures.keys())} Measures are declared under a semantic model's 'measures'`);
    }
    return m;
  };
  const needMetric = (input: string | { name: string }, sub: (string | number)[]): void => {
    const name = typeof input === 'string' ? input : input.name;
    if (!graph.metrics.has(name)) {
      at(metric.source, sub, `unknown metric '${name}'.${didYouMean(name, graph.metrics.keys())}`);
    }
  };
  if (def.time_granularity !== undefined && !graph.isTimeGrain(def.time_granularity)) {
    at(metric.source, ['time_granularity'], `'${def.time_granularity}' is not a grain (${graph.grainNames().join(', ')})`);
  }
  const checkWindow = (text: string | undefined, sub: (string | number)[]): void => {
    if (text === undefined) return;
    const { unit } = windowUnit(text);
    if (!graph.isTimeGrain(unit)) at(metric.source, sub, `'${unit}' is not a grain (${graph.grainNames().join(', ')})`);
  };
  if (def.type === 'cumulative' || def.type === 'conversion') checkWindow(def.window, ['window']);
  if (def.type === 'derived') def.metrics.forEach((m, i) => typeof m !== 'string' && checkWindow(m.offset_window, ['metrics', i, 'offset_window']));
  const replacement = def.deprecated?.replacement;
  if (replacement === metric.name) at(metric.source, ['deprecated', 'replacement'], `metric '${metric.name}' cannot replace itself; name the metric to use instead`);
  else if (replacement !== undefined) needMetric(replacement, ['deprecated', 'replacement']);
  switch (def.type) {
    case 'simple':
      needMeasure(def.measure, 'measure');
      break;
    case 'ratio':
      needMetric(def.numerator, ['numerator']);
      needMetric(def.denominator, ['denominator']);
      break;
    case 'derived': {
      const aliases = new Set<string>();
      def.metrics.forEach((input, i) => {
        needMetric(input, ['metrics', i]);
        const alias = typeof input === 'string' ? input : (input.alias ?? input.name);
        if (aliases.has(alias)) {
          at(metric.source, ['metrics', i], `two inputs are both called '${alias}'; give one an 'alias'`);
        }
        aliases.add(alias);
        if (typeof input !== 'string' && input.offset_window && input.offset_to_grain) {
          at(metric.source, ['metrics', i], `an input takes offset_window or offset_to_grain, not both`);
        }
      });
      break;
    }
    case 'cumulative': {
      const m = needMeasure(def.measure, 'measure');
      if (def.window && def.grain_to_date) {
        at(metric.source, ['window'], `a cumulative metric takes 'window' or 'grain_to_date', not both`);
      }
      if (m && !m.timeDimension) {
        at(metric.source, ['measure'], `cumulative metric needs a time axis, but measure '${m.name}' has no time dimension; set defaults.agg_time_dimension on model '${m.model.name}'`);
      }
      break;
    }
    case 'conversion': {
      const base = needMeasure(def.base_measure, 'base_measure');
      const conv = needMeasure(def.conversion_measure, 'conversion_measure');
      for (const [m, key] of [
        [base, 'base_measure'],
        [conv, 'conversion_measure'],
      ] as const) {
        if (!m) continue;
        if (!m.model.entities.has(def.entity)) {
          at(metric.source, [key], `measure '${m.name}' (model '${m.model.name}') has no entity '${def.entity}'; a conversion follows one entity through both events`);
        }
        if (!m.timeDimension) {
          at(metric.source, [key], `measure '${m.name}' has no time dimension; conversions need event times (set defaults.agg_time_dimension on '${m.model.name}')`);
        }
      }
      break;
    }
  }
}

/** Reports each cycle of metrics computed from each other (a ratio or derived metric that reaches itself), once. */
function checkCycles(graph: SemanticGraph, at: ReportProblem): void {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, stack: string[]): void => {
    const metric = graph.metrics.get(name);
    if (!metric) return;
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...stack.slice(stack.indexOf(name)), name];
      at(metric.source, ['name'], `metrics refer to each other in a cycle: ${cycle.join(' -> ')}; break the cycle`);
      return;
    }
    state.set(name, 'visiting');
    for (const dep of metricInputs(metric.def)) visit(dep, [...stack, name]);
    state.set(name, 'done');
  };
  for (const name of graph.metrics.keys()) visit(name, []);
}
