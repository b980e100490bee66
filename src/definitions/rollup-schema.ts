/**
 * The shape of `rollups:` in metrics/*.yml, checked with zod; schema.ts re-exports it as part of
 * a file's shape.
 */
import { z } from 'zod';
import { GRAINS, nameSchema as name } from './common-schema.js';

/**
 * A rollup (src/rollups): metrics kept pre-aggregated at a time grain and a set of dimensions, so
 * that dashboards are answered from it instead of the base tables. `metrics` are expanded into the
 * measures' re-aggregable parts and finished metric values (src/rollups/expand.ts).
 */
export const rollupSchema = z.strictObject({
  name,
  description: z.string().optional(),
  /** The metrics the rollup is meant to serve. */
  metrics: z.array(name).min(1, 'a rollup keeps at least one metric'),
  /** Group-by references as requests write them (`user.country`). */
  dimensions: z.array(z.string().min(1)).default([]),
  /** The grain of metric_time kept. */
  grain: z.enum(GRAINS).default('day'),
  /** The unit of refresh, at least as coarse as the grain. */
  partition: z.enum(GRAINS).default('month'),
  /** The IANA zone the buckets are cut in. */
  time_zone: z.string().min(1).default('UTC'),
  refresh: z
    .strictObject({
      /** A cron expression, or the name of a schedule in tally.yml. */
      schedule: z.string().min(1).optional(),
      /** Rebuild when the freshness of a source the rollup reads moves. */
      on_freshness: z.boolean().default(true),
      /** The newest N partitions are rebuilt on every refresh (late-arriving rows). */
      trailing: z.int().min(0).max(1000).default(1),
    })
    .default({ on_freshness: true, trailing: 1 }),
});

export type RollupDef = z.infer<typeof rollupSchema>;
