/**
 * Checks `rollups:` definitions: names and metrics that exist (with the nearest name suggested),
 * a partition that holds whole periods of the grain, a time zone, a schedule, and metrics that a
 * rollup can keep at all (they need a time axis no coarser than the rollup's grain). What needs
 * the query layer runs when the project loads (src/rollups/validate.ts): each dimension read as a
 * reference, the expansion of the metrics into what is stored (src/rollups/expand.ts; until then
 * a rollup's `measures` and `finishedMetrics` are empty), and whether each dimension is reachable
 * from each measure's model, since only the planner knows the join paths it takes.
 */
import { didYouMean } from '../errors.js';
import { cronProblem } from './cron.js';
import { isTimeZone } from './time-zone.js';
import type { RollupDefinition } from './rollup.js';
import { leafMeasuresOf } from './leaves.js';
import type { SemanticGraph } from './graph.js';
import type { SourceRef } from './load.js';
import { GRAIN_ORDER, type Grain } from './schema.js';

type At = (source: SourceRef, sub: (string | number)[], message: string) => void;

/** Whether periods of `partition` are made of whole periods of `grain` (a month of days, not of weeks). */
export function partitionHoldsGrain(grain: Grain, partition: Grain): boolean {
  if (GRAIN_ORDER[partition] < GRAIN_ORDER[grain]) return false;
  if (grain === partition || GRAIN_ORDER[grain] <= GRAIN_ORDER.day) return true;
  // Weeks nest in nothing coarser; months in quarters and years; quarters in years.
  return grain !== 'week';
}

/** Validates every rollup of the graph's definitions into `graph.rollups`; problems go to `at`. */
export function validateRollups(graph: SemanticGraph, at: At): void {
  for (const { def, source } of graph.definitions.rollups) {
    if (graph.rollups.has(def.name)) {
      at(source, ['name'], `rollup '${def.name}' is defined twice; rename one of them`);
      continue;
    }
    let ok = true;
    const problem = (sub: (string | number)[], message: string): void => {
      ok = false;
      at(source, sub, message);
    };
    def.metrics.forEach((name, i) => {
      if (!graph.metrics.has(name)) problem(['metrics', i], `unknown metric '${name}'.${didYouMean(name, graph.metrics.keys())} A rollup keeps metrics defined under 'metrics'`);
      else if (def.metrics.indexOf(name) !== i) problem(['metrics', i], `metric '${name}' is listed twice; list it once`);
    });
    def.dimensions.forEach((text, i) => {
      if (def.dimensions.indexOf(text) !== i) problem(['dimensions', i], `dimension '${text}' is listed twice; list it once`);
    });
    if (!partitionHoldsGrain(def.grain, def.partition)) {
      problem(
        ['partition'],
        GRAIN_ORDER[def.partition] < GRAIN_ORDER[def.grain]
          ? `partition '${def.partition}' is finer than the grain '${def.grain}'; a partition holds whole periods of the grain, so use partition: ${def.grain} or coarser`
          : `a ${def.partition} does not hold whole weeks; with grain: week use partition: week`,
      );
    }
    if (!isTimeZone(def.time_zone)) problem(['time_zone'], `unknown time zone '${def.time_zone}'; use an IANA name such as 'UTC' or 'Europe/Berlin'`);
    const schedule = def.refresh.schedule;
    if (schedule !== undefined && /\s/.test(schedule.trim())) {
      const cron = cronProblem(schedule);
      if (cron) problem(['refresh', 'schedule'], `'${schedule}' is not a cron expression (${cron}); write five fields, like "0 * * * *" for every hour, or name a schedule of tally.yml`);
    }
    def.metrics.forEach((name, i) => {
      if (!graph.metrics.has(name)) return;
      for (const measure of leafMeasuresOf(graph, name)) {
        const time = measure.timeDimension;
        if (!time) {
          problem(['metrics', i], `metric '${name}' cannot be kept in a rollup: measure '${measure.name}' has no time dimension, and a rollup is kept by metric_time; set defaults.agg_time_dimension on model '${measure.model.name}' or remove the metric`);
          return;
        }
        if (GRAIN_ORDER[time.granularity] > GRAIN_ORDER[def.grain]) {
          problem(['grain'], `metric '${name}' is recorded by ${time.granularity} (measure '${measure.name}'), so a rollup cannot keep it by ${def.grain}; use grain: ${time.granularity} or coarser`);
          return;
        }
      }
    });
    if (!ok) continue;
    const { line, col } = graph.definitions.problemAt(source, [], '');
    const rollup: RollupDefinition = {
      name: def.name,
      ...(def.description !== undefined ? { description: def.description } : {}),
      metrics: def.metrics,
      // Filled when the project loads (src/rollups/validate.ts completeRollups).
      measures: [],
      finishedMetrics: [],
      dimensions: def.dimensions,
      grain: def.grain,
      partition: def.partition,
      timeZone: def.time_zone,
      refresh: { ...(schedule !== undefined ? { schedule } : {}), onFreshness: def.refresh.on_freshness, trailingPartitions: def.refresh.trailing },
      source: { file: source.file, line, col },
    };
    graph.rollups.set(def.name, rollup);
  }
}
