/**
 * The shape of `dashboards:` in metrics/*.yml (src/dashboards.ts renders them), checked with zod;
 * schema.ts re-exports it as part of a file's shape.
 */
import { z } from 'zod';
import { isoDate, nameSchema as name } from './common-schema.js';

/** Grains a dashboard tile can chart: whole days and coarser, so that each tile's periods are dates. */
export const DASHBOARD_GRAINS = ['day', 'week', 'month', 'quarter', 'year'] as const;
export type DashboardGrain = (typeof DASHBOARD_GRAINS)[number];

/** `last 12 months`: the N complete periods of a grain that end at the dashboard's `as_of`. */
export const RELATIVE_RANGE_PATTERN = /^\s*last\s+(\d+)\s+(day|week|month|quarter|year)s?\s*$/i;

/** One number on a dashboard: a metric over time, its latest period and its change against an earlier one. */
const dashboardTile = z.strictObject({
  metric: name,
  title: z.string().min(1).optional(),
  grain: z.enum(DASHBOARD_GRAINS).default('month'),
  /** `last 12 months` (relative to the dashboard's as_of) or explicit dates, both inclusive. */
  range: z.union([
    z.string().regex(RELATIVE_RANGE_PATTERN, "a range is 'last N days|weeks|months|quarters|years', or { from: YYYY-MM-DD, to: YYYY-MM-DD }"),
    z.strictObject({ from: isoDate, to: isoDate }),
  ]),
  /** What the latest period is compared with. */
  comparison: z.enum(['previous_period', 'same_period_last_year']).default('previous_period'),
  /** A dimension reference (e.g. user.country) to break the latest period down by. */
  breakdown: z.string().min(1).optional(),
});

/** Key numbers reviewed like metrics: a named page of tiles (`dashboards:` in metrics/*.yml). */
export const dashboardSchema = z.strictObject({
  name,
  title: z.string().min(1).optional(),
  description: z.string().optional(),
  owner: z.string().optional(),
  /** The last day relative ranges end at; default: yesterday (UTC), the last whole day. */
  as_of: isoDate.optional(),
  tiles: z.array(dashboardTile).min(1, 'a dashboard needs at least one tile'),
});

export type DashboardDef = z.infer<typeof dashboardSchema>;
export type DashboardTileDef = z.infer<typeof dashboardTile>;
