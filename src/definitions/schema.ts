/**
 * The shape of metrics/*.yml, checked with zod. Names follow dbt MetricFlow where it has one, so
 * that dbt users recognise the definitions and the importer has little to translate.
 */
import { z } from 'zod';
import { experimentSchema } from '../experiments/schema.js';
import { accessSchema } from './access-schema.js';
import { GRAINS, type Grain, isGrain, nameSchema as name } from './common-schema.js';
import { dashboardSchema } from './dashboard-schema.js';
import { rollupSchema } from './rollup-schema.js';

export { GRAIN_ORDER, GRAINS, type Grain, isGrain } from './common-schema.js';
export { DASHBOARD_GRAINS, type DashboardDef, type DashboardGrain, dashboardSchema, type DashboardTileDef, RELATIVE_RANGE_PATTERN } from './dashboard-schema.js';
export { type RollupDef, rollupSchema } from './rollup-schema.js';

/** Parts of a time a request can group by (`metric_time.extract_dow`); weeks and days of week are ISO. */
export const DATE_PARTS = ['year', 'quarter', 'month', 'week', 'day', 'dow', 'doy'] as const;
export type DatePart = (typeof DATE_PARTS)[number];

/** `7 days`, `1 month`, `2 weeks`; or a count of a custom grain defined by a time spine (`1 fiscal_week`). */
export const WINDOW_PATTERN = /^\s*(\d+)\s+([a-z][a-z0-9_]*)\s*$/i;
const windowText = z.string().regex(WINDOW_PATTERN, "a window is a count and a grain, like '7 days' or '1 month'");

const entity = z.strictObject({
  name,
  type: z.enum(['primary', 'unique', 'foreign', 'natural']),
  expr: z.string().min(1).optional(),
  description: z.string().optional(),
});

const dimension = z.strictObject({
  name,
  type: z.enum(['categorical', 'time']),
  expr: z.string().min(1).optional(),
  description: z.string().optional(),
  label: z.string().optional(),
  /** For time dimensions: the finest grain the column holds. */
  granularity: z.enum(GRAINS).optional(),
  /** A partition column: joins between models that both have one also match on it. */
  is_partition: z.boolean().optional(),
  /**
   * Slowly changing dimensions: the time a row becomes valid (`start`) or stops being valid
   * (`end`, NULL while current). A model with both is joined on the time of the measure's row.
   */
  validity: z.enum(['start', 'end']).optional(),
  /**
   * For categorical dimensions: the type of the values, so that filters are type-checked before
   * any SQL runs (`user.country = 5` is refused). Without it the warehouse's type is unknown to
   * Tally and a caller's filter converts the values where they meet a typed value (never failing).
   */
  data_type: z.enum(['text', 'number', 'boolean']).optional(),
});

const measure = z.strictObject({
  name,
  agg: z.enum(['sum', 'count', 'count_distinct', 'average', 'min', 'max', 'median', 'percentile', 'sum_boolean']),
  expr: z.union([z.string().min(1), z.number()]).optional(),
  description: z.string().optional(),
  percentile: z.number().min(0).max(1).optional(),
  discrete: z.boolean().optional(),
  /** An approximate percentile (faster on large tables, where the engine has one). */
  approximate: z.boolean().optional(),
  agg_time_dimension: name.optional(),
  /** Semi-additive measures (balances): aggregate only the rows at the last (or first) time. */
  non_additive_dimension: z
    .strictObject({
      name,
      window_choice: z.enum(['min', 'max']).default('max'),
      window_groupings: z.array(name).default([]),
    })
    .optional(),
});

/** `6 hours`, `1 day`: how old a model's newest row may be before freshness warns or fails. */
const durationText = z.string().regex(/^\s*\d+\s+(milliseconds?|seconds?|minutes?|hours?|days?|weeks?)\s*$/i, "a duration is a count and a unit (minutes, hours, days or weeks), like '6 hours' or '1 day'");

/** The kinds of declared checks; a check takes exactly one. */
export const CHECK_KINDS = ['not_null', 'unique', 'accepted_values', 'expression', 'row_count', 'volume'] as const;

/**
 * An anomaly band learnt from a series' own history (src/checks/anomaly.ts): each of the last
 * `periods` complete days is compared with the same weekday over the trailing `weeks` weeks;
 * outside median ± sensitivity × 1.4826 × MAD is an anomaly.
 */
export const anomalySchema = z.strictObject({
  weeks: z.int().min(3).max(104).default(8),
  sensitivity: z.number().positive().default(3),
  periods: z.int().min(1).max(366).default(1),
  severity: z.enum(['warn', 'error']).default('warn'),
});

/**
 * A declared data check on a model (src/checks): exactly one of the kinds, with a severity.
 * Columns are the model's entity and dimension names.
 */
export const checkDefSchema = z
  .strictObject({
    name: name.optional(),
    severity: z.enum(['warn', 'error']).default('error'),
    description: z.string().optional(),
    not_null: z.array(z.string().min(1)).min(1).optional(),
    unique: z.array(z.string().min(1)).min(1).optional(),
    accepted_values: z.strictObject({ column: z.string().min(1), values: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1) }).optional(),
    /** A SQL condition every row must meet, over the model's columns (validated like an `expr`). */
    expression: z.string().min(1).optional(),
    row_count: z.strictObject({ min: z.int().min(0).optional(), max: z.int().min(0).optional() }).optional(),
    /** Rows per day of the model's time dimension against the same weekday's history (severity comes from the check). */
    volume: anomalySchema.omit({ severity: true }).optional(),
  })
  .refine((c) => CHECK_KINDS.filter((k) => c[k] !== undefined).length === 1, {
    message: `a check takes exactly one of: ${CHECK_KINDS.join(', ')}`,
  });

export const freshnessSchema = z
  .strictObject({
    warn_after: durationText.optional(),
    error_after: durationText.optional(),
    /** The time dimension whose newest value says how fresh the model is; the model's default when absent. */
    time_dimension: name.optional(),
  })
  .refine((f) => f.warn_after !== undefined || f.error_after !== undefined, { message: 'freshness needs warn_after, error_after or both' });

export const semanticModelSchema = z
  .strictObject({
    name,
    description: z.string().optional(),
    table: z.string().min(1).optional(),
    sql: z.string().min(1).optional(),
    /** For models whose rows have no single key column (e.g. assignments): the entity they describe. */
    primary_entity: name.optional(),
    defaults: z.strictObject({ agg_time_dimension: name.optional() }).optional(),
    entities: z.array(entity).default([]),
    dimensions: z.array(dimension).default([]),
    measures: z.array(measure).default([]),
    /** Data checks declared on this model, beyond those derived from its keys (src/checks). */
    checks: z.array(checkDefSchema).optional(),
    freshness: freshnessSchema.optional(),
  })
  .refine((m) => (m.table === undefined) !== (m.sql === undefined), {
    message: 'a semantic model needs exactly one of `table` (a table name) or `sql` (a SELECT)',
  });

/** ISO 4217 codes the runtime can format (Intl), e.g. EUR, USD, KRW. */
const CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

/**
 * How a metric's values are shown in tables, CSV (with --formatted) and the catalog: `number`,
 * `percent` (a ratio 0.461 shown as 46.1%) or a currency (`{ currency: EUR }`). JSON and the API
 * keep full precision; this is display only.
 */
export const metricFormatSchema = z.union([
  z.enum(['number', 'percent']),
  z.strictObject({
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'a currency is an ISO 4217 code in capitals, like EUR or USD')
      .refine((c) => !/^[A-Z]{3}$/.test(c) || CURRENCIES.has(c), { message: 'not an ISO 4217 currency code (EUR, USD, KRW, …)' }),
  }),
]);
export type MetricFormatDef = z.infer<typeof metricFormatSchema>;

const metricBase = {
  name,
  /** Display format: number, percent, or { currency: EUR }. */
  format: metricFormatSchema.optional(),
  /** Digits after the decimal point when displayed (0–10); with format or alone (a number). */
  decimals: z.number().int().min(0).max(10).optional(),
  description: z.string().optional(),
  owner: z.string().optional(),
  label: z.string().optional(),
  /** A filter over dimension references, applied before aggregation. */
  filter: z.string().min(1).optional(),
  /** The grain of metric_time when a request names metric_time without one. */
  time_granularity: name.optional(),
  /** An anomaly check on this metric's daily values (`tally check`; src/checks/rules/metric-anomaly.ts). */
  anomaly: anomalySchema.optional(),
  /** On its way out: requests still work, and every use warns, naming the replacement. */
  deprecated: z
    .strictObject({
      reason: z.string().min(1),
      /** The metric to use instead; it must exist. */
      replacement: name.optional(),
    })
    .optional(),
};

const metricInput = z.union([
  name,
  z.strictObject({
    name,
    alias: name.optional(),
    filter: z.string().min(1).optional(),
    offset_window: windowText.optional(),
    offset_to_grain: z.enum(GRAINS).optional(),
  }),
]);

/** A measure as a metric uses it: by name, or with a filter and gap handling of its own. */
const measureInput = z.union([
  name,
  z.strictObject({
    name,
    filter: z.string().min(1).optional(),
    fill_nulls_with: z.number().optional(),
    join_to_timespine: z.boolean().optional(),
  }),
]);

const simpleMetric = z.strictObject({
  ...metricBase,
  type: z.literal('simple'),
  measure: measureInput,
  fill_nulls_with: z.number().optional(),
  join_to_timespine: z.boolean().optional(),
});

const ratioMetric = z.strictObject({
  ...metricBase,
  type: z.literal('ratio'),
  numerator: metricInput,
  denominator: metricInput,
});

const derivedMetric = z.strictObject({
  ...metricBase,
  type: z.literal('derived'),
  expr: z.string().min(1),
  metrics: z.array(metricInput).min(1),
});

const cumulativeMetric = z.strictObject({
  ...metricBase,
  type: z.literal('cumulative'),
  measure: measureInput,
  window: windowText.optional(),
  grain_to_date: z.enum(GRAINS).optional(),
  /**
   * Which base-grain value stands for a coarser period: by default the value as of the period's
   * end (`last`: MAU for a month is its value on the month's last day); `first` is dbt
   * MetricFlow's default, which the dbt importer writes explicitly; `average` of the period's values.
   */
  period_agg: z.enum(['first', 'last', 'average']).default('last'),
  fill_nulls_with: z.number().optional(),
});

const conversionMetric = z.strictObject({
  ...metricBase,
  type: z.literal('conversion'),
  entity: name,
  base_measure: measureInput,
  conversion_measure: measureInput,
  window: windowText.optional(),
  calculation: z.enum(['conversion_rate', 'conversions']).default('conversion_rate'),
  /** Properties that must be equal on the base and the conversion event (e.g. the same session). */
  constant_properties: z.array(z.strictObject({ base_property: z.string().min(1), conversion_property: z.string().min(1) })).default([]),
});

export const metricSchema = z.discriminatedUnion('type', [
  simpleMetric,
  ratioMetric,
  derivedMetric,
  cumulativeMetric,
  conversionMetric,
]);

/** A table with one row per period of `grain`, used to fill gaps and to define custom grains. */
export const timeSpineSchema = z.strictObject({
  table: z.string().min(1),
  column: z.string().min(1),
  grain: z.enum(GRAINS),
  /** Calendars of your own (fiscal quarters, retail weeks): a column holding each row's period start. */
  custom_granularities: z.array(z.strictObject({ name, column: z.string().min(1).optional() })).default([]),
});

/** A request kept under a name, run with `savedQuery: 'name'`. */
export const savedQuerySchema = z.strictObject({
  name,
  description: z.string().optional(),
  metrics: z.array(name).default([]),
  group_by: z.array(z.string().min(1)).default([]),
  where: z.string().min(1).optional(),
  order_by: z.array(z.string().min(1)).default([]),
  limit: z.number().int().positive().optional(),
});

/**
 * Whose semantics the project follows where Tally's and dbt MetricFlow's differ. `tally` (the
 * default): count, distinct count and sum answer 0 for a group or period in the answer without
 * rows, and calendar offsets move whole periods at coarser grains (a month earlier by quarter
 * moves months). `metricflow` (the dbt importer writes it): those answer null, and offsets move
 * day by day, clamping month ends.
 */
export const semanticsSchema = z.enum(['tally', 'metricflow']);
export type Semantics = z.output<typeof semanticsSchema>;

export const fileSchema = z.strictObject({
  /** A project-wide rule: every file that states it must agree (see semanticsSchema). */
  semantics: semanticsSchema.optional(),
  time_spines: z.array(timeSpineSchema).optional(),
  semantic_models: z.array(semanticModelSchema).optional(),
  metrics: z.array(metricSchema).optional(),
  saved_queries: z.array(savedQuerySchema).optional(),
  dashboards: z.array(dashboardSchema).optional(),
  /** Roles, row filters and restricted metrics (src/access). */
  access: accessSchema.optional(),
  /** A/B tests read on these metrics (src/experiments). */
  experiments: z.array(experimentSchema).optional(),
  /** Pre-aggregated tables that answer requests (src/rollups). */
  rollups: z.array(rollupSchema).optional(),
});

export type SemanticModelDef = z.infer<typeof semanticModelSchema>;
export type CheckDef = z.infer<typeof checkDefSchema>;
export type FreshnessDef = z.infer<typeof freshnessSchema>;
export type AnomalyDef = z.infer<typeof anomalySchema>;
export type EntityDef = z.infer<typeof entity>;
export type DimensionDef = z.infer<typeof dimension>;
export type MeasureDef = z.infer<typeof measure>;
export type MetricDef = z.infer<typeof metricSchema>;
export type TimeSpineDef = z.infer<typeof timeSpineSchema>;
export type SavedQueryDef = z.infer<typeof savedQuerySchema>;
export type MetricInputDef = z.infer<typeof metricInput>;
export type MeasureInputDef = z.infer<typeof measureInput>;

export function measureInputName(input: MeasureInputDef): string {
  return typeof input === 'string' ? input : input.name;
}
export type AggregationType = MeasureDef['agg'];

export interface Window {
  count: number;
  grain: Grain;
}

/** A window as written: a count and a unit, which is a standard grain or names a custom grain. */
export function windowUnit(text: string): { count: number; unit: string } {
  const m = WINDOW_PATTERN.exec(text);
  if (!m) throw new Error(`not a window: ${text}`);
  const word = m[2].toLowerCase();
  const singular = word.endsWith('s') && isGrain(word.slice(0, -1)) ? word.slice(0, -1) : word;
  return { count: Number(m[1]), unit: singular };
}

/** A window of a standard grain; undefined for a custom one. */
export function parseWindow(text: string): Window | undefined {
  const { count, unit } = windowUnit(text);
  return isGrain(unit) ? { count, grain: unit } : undefined;
}
