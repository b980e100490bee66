/**
 * Pieces the definitions' zod schemas share (grains, names, dates), in a module of their own so
 * that schema.ts and the section schemas beside it (dashboard-schema.ts, rollup-schema.ts) can
 * import them without a cycle. schema.ts re-exports them.
 */
import { z } from 'zod';

export const GRAINS = ['millisecond', 'second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year'] as const;
export type Grain = (typeof GRAINS)[number];
export const GRAIN_ORDER: Record<Grain, number> = { millisecond: -3, second: -2, minute: -1, hour: 0, day: 1, week: 2, month: 3, quarter: 4, year: 5 };

export function isGrain(s: string): s is Grain {
  return (GRAINS as readonly string[]).includes(s);
}

/** A definition's name: lower_snake_case. */
export const nameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_]*$/, 'names are lower_snake_case: a letter, then letters, digits or _');

/** A calendar date as written in definitions: YYYY-MM-DD. */
export const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date is written YYYY-MM-DD, like 2025-12-31')
  .refine((text) => !Number.isNaN(Date.parse(`${text}T00:00:00Z`)) && new Date(`${text}T00:00:00Z`).toISOString().startsWith(text), 'not a calendar date (write YYYY-MM-DD, like 2025-12-31)');
