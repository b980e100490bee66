/** The metrics a metric is computed from, read from its definition alone. */
import type { MetricDef } from './schema.js';

/** The names of the metrics a ratio or derived metric is computed from, in definition order; [] for other types. */
export function metricInputs(def: MetricDef): string[] {
  const n = (i: string | { name: string }): string => (typeof i === 'string' ? i : i.name);
  switch (def.type) {
    case 'ratio':
      return [n(def.numerator), n(def.denominator)];
    case 'derived':
      return def.metrics.map(n);
    default:
      return [];
  }
}
