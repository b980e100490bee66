/**
 * A rollup as the definitions declare it (`rollups:` in metrics/*.yml), after validation
 * (validate-rollups.ts). The stored side (build records, column names) is src/rollups/types.ts,
 * which re-exports these: together they are the rollups' contract.
 */
import type { Grain } from './schema.js';

/**
 * A re-aggregable part of a measure, and how rows of it combine into a coarser group:
 * `sum` → SUM (a sum measure's sum, or an average's sum of non-null values), `count` → SUM (a
 * count measure's count, or an average's count of non-null values), `min` → MIN, `max` → MAX.
 * Distinct counts and percentiles have no re-aggregable part: a rollup keeps them only as a
 * finished metric, served at exactly its grain and dimensions.
 */
export type MeasurePart = 'sum' | 'count' | 'min' | 'max';

/** A rollup as declared under `rollups:` in metrics/*.yml, after validation. */
export interface RollupDefinition {
  name: string;
  description?: string;
  /** The metrics the rollup is declared to serve (as written). */
  metrics: string[];
  /** Measures kept as parts, with the parts each needs: what simple, ratio and derived metrics read. */
  measures: { name: string; parts: MeasurePart[] }[];
  /** Metrics kept as finished values (distinct counts, cumulative, conversion, percentiles). */
  finishedMetrics: string[];
  /** Group-by references kept as columns, as requests write them (`user.country`). */
  dimensions: string[];
  /** The grain of `metric_time` in the table. */
  grain: Grain;
  /** The unit of refresh: a grain at least as coarse as `grain`. */
  partition: Grain;
  /** IANA zone the buckets are cut in; a request in another zone is not served. */
  timeZone: string;
  refresh: {
    /** A cron expression, or the name of a schedule in tally.yml. */
    schedule?: string;
    /** Rebuild when the freshness of a source the rollup reads moves. */
    onFreshness: boolean;
    /** The newest N partitions are rebuilt on every refresh (late-arriving rows). */
    trailingPartitions: number;
  };
  /** Where it was declared, for file:line:col messages. */
  source: { file: string; line: number; col: number };
}

