/**
 * The checks of `rollups:` that need the planner, run when the project loads (after the graph's
 * own checks, src/definitions/validate-rollups.ts): every dimension is reachable from every
 * measure the rollup keeps parts of, and every finished metric compiles by the rollup's keys.
 * Each is tried the way the build will run it, so a rollup that loads also builds.
 */
import type { SemanticGraph } from '../definitions/graph.js';
import type { DefinitionProblem } from '../errors.js';
import { TallyError } from '../errors.js';
import { parseReference } from '../query/references.js';
import { expandRollupMetrics } from './expand.js';
import { lowerMeasureParts, lowerPlan } from '../planner/lower/index.js';
import { buildPlan } from '../planner/plan.js';
import { parseRequest } from '../query/request.js';
import { measurePartColumn } from './types.js';

/**
 * Completes the rollups the graph validated (src/definitions/validate-rollups.ts) with what needs
 * the query layer: each dimension must be a reference requests can group by (not metric_time, not
 * a metric per entity, a time dimension with its grain), and the metrics are expanded into the
 * measures' parts and finished metrics they store (expand.ts). A rollup with a bad dimension is
 * removed from `graph.rollups`; its problems are returned at file:line:col.
 */
export function completeRollups(graph: SemanticGraph): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  const done = new Set<string>();
  for (const { def, source } of graph.definitions.rollups) {
    const rollup = graph.rollups.get(def.name);
    // A name defined twice was refused by the graph; its first definition is the one kept.
    if (!rollup || done.has(def.name)) continue;
    done.add(def.name);
    let ok = true;
    const problem = (sub: (string | number)[], message: string): void => {
      ok = false;
      problems.push(graph.definitions.problemAt(source, sub, message));
    };
    def.dimensions.forEach((text, i) => {
      if (def.dimensions.indexOf(text) !== i) return;
      try {
        const ref = parseReference(graph, text);
        if (ref.kind === 'metric_time') problem(['dimensions', i], `'${text}': a rollup keeps metric_time at its 'grain'; remove it from dimensions and set grain instead`);
        else if (ref.kind === 'metric') problem(['dimensions', i], `'${text}' is a metric per entity; a rollup keeps dimensions (like 'user.country'), not metrics`);
        else if (ref.kind === 'dimension' && ref.isTime && ref.time === undefined) problem(['dimensions', i], `'${text}' is a time dimension; name its grain, like '${text}.day'`);
      } catch (e) {
        if (!(e instanceof TallyError)) throw e;
        problem(['dimensions', i], `${e.message}`);
      }
    });
    if (!ok) {
      graph.rollups.delete(def.name);
      continue;
    }
    const expansion = expandRollupMetrics(graph, rollup.metrics, rollup.dimensions);
    rollup.measures = expansion.measures;
    rollup.finishedMetrics = expansion.finishedMetrics;
  }
  return problems;
}

/** Problems of the graph's rollups at file:line:col (none when every rollup can be built). */
export function rollupProblems(graph: SemanticGraph): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  for (const { def, source } of graph.definitions.rollups) {
    const rollup = graph.rollups.get(def.name);
    if (!rollup) continue;
    const attempt = (work: () => void): string | undefined => {
      try {
        work();
        return undefined;
      } catch (e) {
        if (e instanceof TallyError) return e.message;
        throw e;
      }
    };
    const time = `metric_time.${rollup.grain}`;
    rollup.dimensions.forEach((dimension, i) => {
      for (const kept of rollup.measures) {
        const measure = graph.measures.get(kept.name);
        if (!measure) continue;
        const failed = attempt(() => lowerMeasureParts(graph, buildPlan(graph, parseRequest({ groupBy: [time, dimension], timeZone: rollup.timeZone })), [{ measure, part: kept.parts[0], alias: measurePartColumn(kept.name, kept.parts[0]) }]));
        if (failed) {
          problems.push(graph.definitions.problemAt(source, ['dimensions', i], `dimension '${dimension}' cannot be reached from measure '${measure.name}' (model '${measure.model.name}'), which metric(s) ${rollup.metrics.join(', ')} read: ${failed}. Remove the dimension or the metric, or keep them in separate rollups`));
          return;
        }
      }
    });
    for (const metric of rollup.finishedMetrics) {
      const failed = attempt(() => lowerPlan(graph, buildPlan(graph, parseRequest({ metrics: [metric], groupBy: [time, ...rollup.dimensions], timeZone: rollup.timeZone }))));
      if (failed) problems.push(graph.definitions.problemAt(source, ['metrics', def.metrics.indexOf(metric)], `metric '${metric}' cannot be kept by ${[time, ...rollup.dimensions].join(', ')}: ${failed}`));
    }
  }
  return problems;
}
