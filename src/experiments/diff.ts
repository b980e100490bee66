/**
 * For `tally diff`: experiments still running whose metrics a change touches. Their criteria were
 * agreed before the start, so a reviewer must see that the change moves a running test's goalposts.
 */
import type { SemanticGraph } from '../definitions/graph.js';
import { experimentsOf } from './validate.js';

/** A running experiment and the metrics of it that the change alters or removes. */
export interface AffectedExperiment {
  experiment: string;
  start: string;
  end: string;
  metrics: string[];
}

/** Running experiments (start <= now < end) of either side that use a changed or removed metric. */
export function runningExperimentsTouched(base: SemanticGraph, head: SemanticGraph, touched: ReadonlySet<string>, now = new Date()): AffectedExperiment[] {
  const out = new Map<string, AffectedExperiment>();
  for (const graph of [head, base]) {
    for (const { def } of experimentsOf(graph).values()) {
      if (out.has(def.name)) continue;
      const start = Date.parse(`${def.start.slice(0, 10)}T00:00:00Z`);
      const end = Date.parse(`${def.end.slice(0, 10)}T00:00:00Z`);
      if (!(start <= now.getTime() && now.getTime() < end)) continue;
      const metrics = [...def.primary_metrics, ...def.guardrail_metrics].filter((m) => touched.has(m));
      if (metrics.length) out.set(def.name, { experiment: def.name, start: def.start, end: def.end, metrics });
    }
  }
  return [...out.values()];
}
