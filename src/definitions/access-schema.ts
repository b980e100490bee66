/**
 * The shape of access policies in metrics/*.yml (an `access:` section), reviewed like metrics:
 *
 *   access:
 *     roles:
 *       - name: finance
 *         description: Every metric, every row.
 *       - name: kr_analyst
 *         row_filters:
 *           - { dimension: user.country, claim: country }   # the caller's `country` claim, bound as a literal
 *           - { filter: "order.status <> 'test'" }          # a fixed filter in the filter language
 *     restricted:
 *       - metrics: [revenue]        # and every metric computed from it, transitively
 *         measures: [order_amount]  # and every metric that aggregates it
 *         roles: [finance]
 *
 * It is part of the definitions' shape, so it lives here, below src/access, which enforces it.
 */
import { z } from 'zod';

const name = z.string().regex(/^[a-z][a-z0-9_]*$/, 'names are lower_snake_case: a letter, then letters, digits or _');
/** A claim's name in a token, or a dotted path into it (`tenant.country`). */
const claimName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_:-]*(\.[A-Za-z_][A-Za-z0-9_:-]*)*$/, 'a claim name such as country or tenant.country');
const value = z.union([z.string(), z.number(), z.boolean()]);

const rowFilter = z.union([
  z
    .strictObject({
      /** A dimension reference, e.g. user.country. */
      dimension: z.string().min(1),
      /** The caller's claim whose value (or list of values) the dimension must equal. */
      claim: claimName.optional(),
      /** Fixed values the dimension must equal. */
      values: z.array(value).min(1).optional(),
    })
    .refine((f) => (f.claim === undefined) !== (f.values === undefined), { message: 'a dimension row filter takes exactly one of `claim` or `values`' }),
  z.strictObject({
    /** A fixed filter in the filter language, e.g. "order.status <> 'test'". */
    filter: z.string().min(1),
  }),
]);

const role = z.strictObject({
  name,
  description: z.string().optional(),
  /** Conditions on the rows this role sees (all must hold); none: every row. */
  row_filters: z.array(rowFilter).default([]),
});

const restriction = z
  .strictObject({
    metrics: z.array(name).default([]),
    measures: z.array(name).default([]),
    /** Roles that may query them; a caller needs one of these roles for each restriction that applies. */
    roles: z.array(name).min(1),
    description: z.string().optional(),
  })
  .refine((r) => r.metrics.length + r.measures.length > 0, { message: 'a restriction names at least one metric or measure' });

export const accessSchema = z.strictObject({
  roles: z.array(role).default([]),
  restricted: z.array(restriction).default([]),
});

export type AccessDef = z.infer<typeof accessSchema>;
export type RoleDef = z.infer<typeof role>;
export type RowFilterDef = z.infer<typeof rowFilter>;
export type RestrictionDef = z.infer<typeof restriction>;
