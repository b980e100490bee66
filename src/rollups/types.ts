/**
 * The contract between building rollups (src/rollups/build.ts, store.ts) and answering from them
 * (src/rollups/route.ts and the planner's leaf scans). A rollup is a table of pre-aggregated
 * measure components, and of finished metric values, at one time grain and a set of dimensions,
 * kept in a rollup store (embedded DuckDB by default, or a schema of the engine).
 *
 * Stored table, one row per (time bucket, dimension values):
 *   `metric_time__<grain>`   the bucket's start in the rollup's time zone, typed as the planner
 *                            types a `metric_time.<grain>` group-by.
 *   `<dimension column>`     one per dimension reference: `user.country` → `user__country`
 *                            (see `rollupColumnOf`), typed as the planner types that group-by.
 *   `m__<measure>__<part>`   a measure's re-aggregable parts (see `MeasurePart`).
 *   `metric__<name>`         a finished metric's value at exactly this grain and dimensions.
 *   `present__<name>`        TRUE where the finished metric's own answer (the metric asked alone by
 *                            these keys) has a row, NULL elsewhere: a row of the table can exist for
 *                            other metrics only, and a metric's own row can hold a NULL value.
 * A measure's parts always include `count` (of non-null values; 0, never NULL, for a group with
 * rows), so a row belongs to the measure exactly where `m__<measure>__count` is not NULL.
 */
import type { Grain } from '../definitions/schema.js';

// The definition side (what `rollups:` declares, validated by src/definitions/validate-rollups.ts)
// lives with the definitions, which depend on no layer above them; it is part of this contract.
export type { MeasurePart, RollupDefinition } from '../definitions/rollup.js';
import type { MeasurePart } from '../definitions/rollup.js';

/** What the store records about one built rollup (one row per rollup, replaced on each build). */
export interface BuiltRollup {
  name: string;
  /** The table in the rollup store that holds it. */
  table: string;
  /**
   * Hash of the rollup's definition and of every definition it reads (models, measures, metrics,
   * dimensions, joins, semantics). A rollup whose fingerprint differs from the one the current
   * definitions give is never used.
   */
  fingerprint: string;
  /** The project's definitions version (SemanticGraph.version) and git commit at build time. */
  version: string;
  commit?: string;
  /** ISO-8601 instant the last build finished. */
  builtAt: string;
  /**
   * The database its rows were read from (see databaseIdentity in source.ts: `duckdb:/abs/demo.duckdb`,
   * `postgres:<url env>/<schema>`), where the builder knew it: a request about another database
   * (`tally query --db other.duckdb`) is never answered from it.
   */
  source?: string;
  grain: Grain;
  timeZone: string;
  dimensions: string[];
  measures: { name: string; parts: MeasurePart[] }[];
  finishedMetrics: string[];
  /** Half-open range of bucket starts held, [from, to), as ISO dates/instants; absent when empty. */
  coveredFrom?: string;
  coveredTo?: string;
  partitions: {
    /** The partition's first bucket (ISO). */
    start: string;
    rows: number;
    /** Fingerprint of the source rows the partition was built from (to detect changed partitions). */
    sourceFingerprint: string;
    builtAt: string;
  }[];
  /**
   * The store's type of each column of the table (`m__amount__sum` → `DECIMAL(38,2)`), as the store
   * reports it when build records are read (RollupStore.list), never as written by the build:
   * routing serves an average only from an exact (integer or decimal) sum.
   */
  columnTypes?: Record<string, string>;
  /**
   * The newest time of each source model (its freshness time dimension, 'YYYY-MM-DD HH:MM:SS' UTC),
   * by model name, measured when the build started (src/rollups/freshness.ts). `refresh.on_freshness`
   * refreshes the rollup when it moves. Absent in records written before it existed (then due).
   */
  sourceFreshness?: Record<string, string>;
  /**
   * Never stored: attached where the record is read for routing (src/rollups/verify.ts). Ranges of
   * bucket starts, [start, end) (end absent: open), whose source rows are known to differ from what
   * the build read (a source's freshness moved past it, or a partition's source fingerprint no
   * longer matches); a request whose range meets one is not answered from this rollup.
   */
  stale?: { start: string; end?: string; reason: string }[];
  /** Never stored: doubts that could not be checked cheaply; an answer from this rollup carries them as warnings. */
  warnings?: string[];
  /** Never stored: when this build was last compared with its sources (ISO instants): their freshness, and every partition's fingerprint. */
  checkedAt?: { freshness?: string; fingerprints?: string };
}

/** `user.country` → `user__country`: the column a dimension reference is kept in. */
export function rollupColumnOf(reference: string): string {
  return reference.replace(/\./g, '__');
}

/** The column holding a measure's part. */
export function measurePartColumn(measure: string, part: MeasurePart): string {
  return `m__${measure}__${part}`;
}

/** The column holding a finished metric. */
export function finishedMetricColumn(metric: string): string {
  return `metric__${metric}`;
}

/** The column that says where a finished metric's own answer has a row (TRUE, else NULL). */
export function finishedPresenceColumn(metric: string): string {
  return `present__${metric}`;
}

/** The column holding the time bucket at the rollup's grain. */
export function rollupTimeColumn(grain: Grain): string {
  return `metric_time__${grain}`;
}
