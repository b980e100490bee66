/**
 * The `experiments:` section of metrics/*.yml: an A/B test judged on ordinary Tally metrics, with
 * the criteria agreed before it starts (GrowthBook's and Eppo's experiment definitions are the
 * models: an assignment source, a control, a planned split, primary and guardrail metrics).
 */
import { z } from 'zod';

const WINDOW = /^\s*(\d+)\s+(hour|day|week|month)s?\s*$/i;
const window = z.string().regex(WINDOW, "a window is a count and a unit, like '14 days', '48 hours' or '2 weeks'");
const date = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?$/, "a date is 'YYYY-MM-DD' (or 'YYYY-MM-DD HH:MM:SS', UTC)");
const name = z.string().regex(/^[a-z_][a-z0-9_]*$/i, 'a name is letters, digits and underscores, starting with a letter');

export const experimentSchema = z.strictObject({
  name,
  description: z.string().optional(),
  owner: z.string().optional(),
  hypothesis: z.string().optional(),
  /** Where units meet variants: one row per unit and experiment in a semantic model. */
  assignment: z.strictObject({
    model: name,
    /** The randomization unit, an entity of the model (e.g. user). */
    entity: name,
    /** Categorical dimension holding the variant. */
    variant: name,
    /** Time dimension holding when the unit was assigned. */
    assigned_at: name,
    /** Which rows belong to this experiment, in Tally's filter language. */
    filter: z.string().min(1).optional(),
  }),
  control: name,
  /** Planned share of units per variant (any positive weights; normalised). */
  split: z.record(name, z.number().positive()),
  start: date,
  end: date,
  /** Counts only what happens within this long after a unit's assignment. */
  attribution_window: window.optional(),
  /** CUPED: the same metric over this long before each unit's assignment is the covariate. */
  pre_period: window.optional(),
  primary_metrics: z.array(name).min(1),
  guardrail_metrics: z.array(name).default([]),
  success: z.strictObject({
    direction: z.enum(['increase', 'decrease']),
    /** Smallest relative lift worth shipping (0.02 = 2 %). */
    minimum_effect: z.number().nonnegative().default(0),
    alpha: z.number().gt(0).lt(1).default(0.05),
    /** Planned power, for the sample-size calculator. */
    power: z.number().gt(0).lt(1).default(0.8),
    correction: z.enum(['holm', 'benjamini_hochberg', 'none']).default('holm'),
    /** Always-valid (sequential) intervals, safe to look at before the end. */
    sequential: z.boolean().default(false),
  }),
});

export type ExperimentDef = z.infer<typeof experimentSchema>;

/** '14 days' → { count: 14, unit: 'day' }. */
export function experimentWindow(text: string): { count: number; unit: 'hour' | 'day' | 'week' | 'month' } {
  const m = WINDOW.exec(text);
  if (!m) throw new Error(`not a window: ${text}`);
  return { count: Number(m[1]), unit: m[2].toLowerCase() as 'hour' | 'day' | 'week' | 'month' };
}
