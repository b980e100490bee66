/**
 * The definition fingerprint of a rollup: a hash of the rollup's definition and of every
 * definition its stored values depend on — the metrics it keeps (and their inputs), the models of
 * their measures, the models its dimensions and filters are read from (every owner of an entity
 * on their join paths), the time spines and the project's semantics. A change to any of these
 * changes the fingerprint, so a rollup built before the change is rebuilt in full and never used
 * meanwhile; a change elsewhere (another metric, a dashboard) leaves it valid.
 */
import { createHash } from 'node:crypto';
import type { Model, SemanticGraph } from '../definitions/graph.js';
import type { MeasureInputDef, MetricInputDef } from '../definitions/schema.js';
import { TallyError, didYouMean } from '../errors.js';
import { collectRefs } from '../query/expression.js';
import { parseExpressionCached } from '../query/parse-cache.js';
import { leafMeasuresOf } from '../definitions/leaves.js';

/**
 * The error for a rollup name the project does not declare (INVALID_REQUEST), one wording for
 * `tally rollup build` and `status` and the library: the nearest declared names when one is
 * close, else every declared name, else how to declare one.
 */
export function unknownRollupError(graph: SemanticGraph, name: string): TallyError {
  const known = [...graph.rollups.keys()];
  const hint = didYouMean(name, known)
    || (known.length ? ` Rollups: ${known.join(', ')}.` : ' The project defines no rollups (add them under `rollups:` in metrics/*.yml).');
  return new TallyError('INVALID_REQUEST', `unknown rollup '${name}'.${hint}`);
}

/** Hex sha256 (first 16 digits) of the definitions rollup `name` reads; throws for an unknown rollup. */
export function definitionFingerprint(graph: SemanticGraph, name: string): string {
  const rollup = graph.rollups.get(name);
  if (!rollup) throw unknownRollupError(graph, name);
  const metrics = new Map<string, unknown>();
  const references: string[] = [...rollup.dimensions];
  const visit = (metricName: string): void => {
    const metric = graph.metrics.get(metricName);
    if (!metric || metrics.has(metricName)) return;
    metrics.set(metricName, metric.def);
    const def = metric.def;
    const filters: (string | undefined)[] = [def.filter];
    const measureFilter = (m: MeasureInputDef): void => void filters.push(typeof m === 'string' ? undefined : m.filter);
    const input = (m: MetricInputDef): void => {
      if (typeof m !== 'string') filters.push(m.filter);
      visit(typeof m === 'string' ? m : m.name);
    };
    if (def.type === 'simple' || def.type === 'cumulative') measureFilter(def.measure);
    if (def.type === 'conversion') {
      measureFilter(def.base_measure);
      measureFilter(def.conversion_measure);
      references.push(...def.constant_properties.flatMap((p) => [p.base_property, p.conversion_property]));
    }
    if (def.type === 'ratio') [def.numerator, def.denominator].forEach(input);
    if (def.type === 'derived') def.metrics.forEach(input);
    for (const text of filters) {
      if (text === undefined) continue;
      try {
        references.push(...collectRefs(parseExpressionCached(text, `metric '${metricName}'`)).map((r) => r.ref));
      } catch {
        // An unparsable filter fails validation; its text is hashed with the metric anyway.
      }
    }
  };
  rollup.metrics.forEach(visit);
  const models = new Map<string, Model>();
  for (const metricName of rollup.metrics) for (const m of leafMeasuresOf(graph, metricName)) models.set(m.model.name, m.model);
  for (const ref of references) {
    for (const entity of ref.split('.')) for (const owner of graph.entityOwners.get(entity) ?? []) models.set(owner.name, owner);
  }
  // What is stored depends on these; a description or a refresh rule can change without a rebuild.
  const definition = { metrics: rollup.metrics, measures: rollup.measures, finishedMetrics: rollup.finishedMetrics, dimensions: rollup.dimensions, grain: rollup.grain, partition: rollup.partition, timeZone: rollup.timeZone };
  const content = {
    rollup: definition,
    metrics: [...metrics].sort(([a], [b]) => a.localeCompare(b)),
    models: [...models.values()].sort((a, b) => a.name.localeCompare(b.name)).map((m) => m.def),
    timeSpines: [...graph.timeSpines.values()].map((s) => ({ table: s.table, column: s.column, grain: s.grain })),
    customGrains: [...graph.customGrains.values()].map((c) => ({ name: c.name, column: c.column })),
    semantics: graph.semantics,
  };
  return createHash('sha256').update(stableJson(content)).digest('hex').slice(0, 16);
}

/** JSON with object keys sorted, so that the order keys were written in does not matter. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
