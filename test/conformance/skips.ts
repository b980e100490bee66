/**
 * The one place where MetricFlow integration cases are skipped, each for a named reason. A case
 * not covered here runs, and counts as passed or failed.
 */
import type { IntegrationCase } from './cases.js';

/**
 * Engine features a case can require (its `required_features`) that DuckDB does not have.
 * MetricFlow skips these cases on DuckDB as well: its check query cannot even be rendered there.
 */
const DUCKDB_LACKS: Record<string, string> = {
  APPROXIMATE_DISCRETE_PERCENTILE_AGGREGATION: 'DuckDB has no approximate discrete percentile function (MetricFlow skips this case on DuckDB too)',
};

/** Individual cases skipped on purpose, keyed `itest_file.yaml:case_name`. */
const SKIPPED_CASES: Record<string, string> = {};

export function skipReason(c: IntegrationCase): string | undefined {
  for (const feature of c.required_features ?? []) {
    const reason = DUCKDB_LACKS[feature];
    if (reason) return reason;
  }
  return SKIPPED_CASES[`${c.file}:${c.name}`];
}
