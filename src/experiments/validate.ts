/**
 * Checks `experiments:` against the semantic graph when the project loads, so that a misspelt
 * metric, a dimension the model lacks or a metric with no per-unit meaning is reported at
 * file:line:col with the nearest names, not when someone first asks for a readout.
 */
import type { SemanticGraph } from '../definitions/graph.js';
import type { Located } from '../definitions/load.js';
import { type DefinitionProblem, didYouMean, TallyError } from '../errors.js';
import { experimentQuery, unitMetricOf } from './query.js';
import type { ExperimentDef } from './schema.js';

/** A validated experiment with where it is defined. */
export type Experiment = Located<ExperimentDef>;

const byGraph = new WeakMap<SemanticGraph, Map<string, Experiment>>();

/** The project's experiments by name (those that passed validation). */
export function experimentsOf(graph: SemanticGraph): Map<string, Experiment> {
  const hit = byGraph.get(graph);
  if (hit) return hit;
  const { experiments } = checkExperiments(graph);
  byGraph.set(graph, experiments);
  return experiments;
}

/** Every problem of the `experiments:` sections, each at file:line:col. */
export function experimentProblems(graph: SemanticGraph): DefinitionProblem[] {
  return checkExperiments(graph).problems;
}

function checkExperiments(graph: SemanticGraph): { experiments: Map<string, Experiment>; problems: DefinitionProblem[] } {
  const experiments = new Map<string, Experiment>();
  const problems: DefinitionProblem[] = [];
  for (const located of graph.definitions.experiments ?? []) {
    const { def, source } = located;
    const before = problems.length;
    const at = (path: (string | number)[], message: string): void => {
      problems.push(graph.definitions.problemAt(source, path, message));
    };
    if (experiments.has(def.name)) {
      at(['name'], `experiment '${def.name}' is defined twice; rename one of them`);
      continue;
    }
    const a = def.assignment;
    const model = graph.models.get(a.model);
    if (!model) {
      at(['assignment', 'model'], `unknown semantic model '${a.model}'.${didYouMean(a.model, graph.models.keys())}`);
    } else {
      if (!model.entities.has(a.entity)) at(['assignment', 'entity'], `model '${model.name}' has no entity '${a.entity}'.${didYouMean(a.entity, model.entities.keys())}`);
      const dims = [...model.dimensions.values()];
      const variant = model.dimensions.get(a.variant);
      if (!variant) at(['assignment', 'variant'], `model '${model.name}' has no dimension '${a.variant}'.${didYouMean(a.variant, dims.filter((d) => d.type === 'categorical').map((d) => d.name))}`);
      else if (variant.type !== 'categorical') at(['assignment', 'variant'], `'${a.variant}' is a time dimension; the variant is a categorical dimension`);
      const time = model.dimensions.get(a.assigned_at);
      if (!time) at(['assignment', 'assigned_at'], `model '${model.name}' has no dimension '${a.assigned_at}'.${didYouMean(a.assigned_at, dims.filter((d) => d.type === 'time').map((d) => d.name))}`);
      else if (time.type !== 'time') at(['assignment', 'assigned_at'], `'${a.assigned_at}' is categorical; the assignment time is a time dimension`);
    }
    const variants = Object.keys(def.split);
    if (variants.length < 2) at(['split'], `the split names ${variants.length} variant; an experiment compares at least two, e.g. { control: 0.5, treatment: 0.5 }`);
    if (!variants.includes(def.control)) at(['control'], `the control '${def.control}' is not in the split (${variants.join(', ')}).${didYouMean(def.control, variants)}`);
    const start = Date.parse(`${def.start.replace(' ', 'T')}Z`.replace(/(T\d\d:\d\d)Z$/, '$1:00Z'));
    const end = Date.parse(`${def.end.replace(' ', 'T')}Z`.replace(/(T\d\d:\d\d)Z$/, '$1:00Z'));
    if (Number.isNaN(start)) at(['start'], `'${def.start}' is not a date`);
    if (Number.isNaN(end)) at(['end'], `'${def.end}' is not a date`);
    if (!Number.isNaN(start) && !Number.isNaN(end) && end <= start) at(['end'], `the end (${def.end}) must come after the start (${def.start})`);
    const lists = [['primary_metrics', def.primary_metrics], ['guardrail_metrics', def.guardrail_metrics]] as const;
    for (const [key, names] of lists) {
      names.forEach((name, i) => {
        if (!graph.metrics.has(name)) {
          at([key, i], `unknown metric '${name}'.${didYouMean(name, graph.metrics.keys())}`);
          return;
        }
        try {
          unitMetricOf(graph, name);
        } catch (e) {
          if (!(e instanceof TallyError)) throw e;
          at([key, i], `${e.message}; choose a simple, conversion or ratio metric`);
        }
      });
    }
    if (problems.length > before) continue;
    try {
      experimentQuery(graph, def);
    } catch (e) {
      if (!(e instanceof TallyError)) throw e;
      const inFilter = def.assignment.filter !== undefined && (e.code === 'INVALID_FILTER' || e.code === 'UNKNOWN_DIMENSION');
      at(inFilter ? ['assignment', 'filter'] : ['name'], `experiment '${def.name}' does not compile: ${e.message}`);
      continue;
    }
    experiments.set(def.name, located);
  }
  return { experiments, problems };
}
