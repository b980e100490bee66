/**
 * Deprecated metrics keep answering, so that dashboards do not break on the day of the change,
 * but every use says so and names what to use instead: the CLI on stderr, the API in `warnings`
 * and with `@deprecated`, the catalog page with a banner.
 */
import { metricInputs, type SemanticGraph } from './definitions/graph.js';
import type { MetricDef } from './definitions/schema.js';

export type Deprecation = NonNullable<MetricDef['deprecated']>;

/** "use 'b' instead: reason", or just the reason when there is no replacement. */
export function deprecationNotice(deprecation: Deprecation): string {
  return deprecation.replacement ? `use '${deprecation.replacement}' instead: ${deprecation.reason}` : deprecation.reason;
}

/** One warning per deprecated metric a request uses, directly or as an input of another metric. */
export function deprecationWarnings(graph: SemanticGraph, requested: string[]): string[] {
  const warnings: string[] = [];
  const seen = new Set(requested);
  for (const name of requested) {
    const deprecated = graph.metrics.get(name)?.def.deprecated;
    if (deprecated) warnings.push(`metric '${name}' is deprecated; ${deprecationNotice(deprecated)}`);
  }
  const visitInputs = (name: string, usedBy: string): void => {
    const def = graph.metrics.get(name)?.def;
    if (!def) return;
    for (const input of metricInputs(def)) {
      if (seen.has(input)) continue;
      seen.add(input);
      const deprecated = graph.metrics.get(input)?.def.deprecated;
      if (deprecated) warnings.push(`metric '${usedBy}' is computed from deprecated metric '${input}'; ${deprecationNotice(deprecated)}`);
      visitInputs(input, usedBy);
    }
  };
  for (const name of requested) visitInputs(name, name);
  return warnings;
}
