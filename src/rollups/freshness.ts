/**
 * `refresh.on_freshness`: a rollup is refreshed when the freshness of a source it reads moves.
 * Its sources are the models of the measures it keeps (parts, and the leaves of its finished
 * metrics); each one's freshness is the newest value of its freshness time dimension
 * (`freshness.time_dimension`, else the model's default aggregation time), measured exactly as
 * the data checks and answers' "data as of" measure it (src/checks/health.ts DataHealth.dataAsOf:
 * the planner's scan of the model, MAX of the time, in the engine's dialect). A build records what
 * it measured (BuiltRollup.sourceFreshness); the probe measures again and says which moved.
 *
 * Known limit: rows that arrive late, older than the newest time, do not move freshness; a
 * `refresh.schedule` with `on_freshness: false` refreshes whatever moved.
 */
import { DataHealth, freshnessDimension } from '../checks/health.js';
import type { Model, SemanticGraph } from '../definitions/graph.js';
import type { Engine } from '../engines/engine.js';
import { leafMeasuresOf } from '../definitions/leaves.js';
import type { BuiltRollup, RollupDefinition } from './types.js';

/** The models whose rows a rollup's stored values are computed from and that have a freshness time, by name. */
export function rollupSourceModels(graph: SemanticGraph, rollup: RollupDefinition): Model[] {
  const models = new Map<string, Model>();
  for (const m of rollup.measures) {
    const measure = graph.measures.get(m.name);
    if (measure) models.set(measure.model.name, measure.model);
  }
  for (const metric of rollup.finishedMetrics) for (const measure of leafMeasuresOf(graph, metric)) models.set(measure.model.name, measure.model);
  return [...models.values()].filter((m) => freshnessDimension(m) !== undefined).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The newest time of each source model of `rollup` ('YYYY-MM-DD HH:MM:SS', UTC), measured now on
 * `engine` (through `health`, which may remember a model's time for a while when several rollups
 * are looked at together); a model without rows, or whose scan failed, is left out.
 */
export async function measureSourceFreshness(graph: SemanticGraph, engine: Engine, rollup: RollupDefinition, health = new DataHealth(engine, undefined, { ttlMs: 0 })): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const model of rollupSourceModels(graph, rollup)) {
    const latest = await health.dataAsOf(graph, model);
    if (latest !== undefined) out[model.name] = latest;
  }
  return out;
}

/**
 * How far a change of source rows in one partition reaches into a rollup's stored values: its own
 * partition (parts, and finished simple metrics), every later one too (a finished cumulative
 * window reads back), or all of them (a conversion counts later events for earlier bases; an
 * offset or another finished metric, conservatively). Staleness checks (verify.ts) mark that far,
 * and an incremental build (build.ts) rebuilds that far.
 */
export function changeReach(graph: SemanticGraph, rollup: RollupDefinition): 'partition' | 'onward' | 'all' {
  const types = rollup.finishedMetrics.map((m) => graph.metrics.get(m)?.def.type);
  if (types.every((t) => t === 'simple')) return 'partition';
  return types.every((t) => t === 'simple' || t === 'cumulative') ? 'onward' : 'all';
}

/** What a freshness probe found for one rollup. */
export interface FreshnessProbe {
  rollup: string;
  /** True when a refresh is due: a source's newest time differs from the one the last build recorded, or there is no such record. */
  moved: boolean;
  /** Why, in a sentence: which sources moved from what to what, or that none did. */
  reason: string;
  /** The newest time of each source now. */
  now: Record<string, string>;
}

/** Compares the sources' newest times now with those `built` recorded (absent: never built, so due). */
export async function probeFreshness(graph: SemanticGraph, engine: Engine, rollup: RollupDefinition, built: BuiltRollup | undefined): Promise<FreshnessProbe> {
  const now = await measureSourceFreshness(graph, engine, rollup);
  if (!built) return { rollup: rollup.name, moved: true, reason: 'never built', now };
  if (!built.sourceFreshness) return { rollup: rollup.name, moved: true, reason: 'its build recorded no source freshness', now };
  const before = built.sourceFreshness;
  const moved = [...new Set([...Object.keys(before), ...Object.keys(now)])]
    .sort()
    .filter((model) => before[model] !== now[model])
    .map((model) => `${model} ${before[model] ?? 'no rows'} → ${now[model] ?? 'no rows'}`);
  return { rollup: rollup.name, moved: moved.length > 0, reason: moved.length ? `source freshness moved: ${moved.join(', ')}` : 'no source freshness moved', now };
}
