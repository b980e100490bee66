/**
 * Access policies apply to experiments as to metrics: a caller who may not see a metric of the
 * experiment is refused (FORBIDDEN) and does not see it listed; a caller with a row filter gets a
 * readout over their rows only (checked against hand-written SQL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../security/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
}, 120_000);
afterAll(async () => h?.close());

const READOUT = `query ($name: String!) { experiment(name: $name) { variants { variant units } metrics { metric relative { estimate } } } }`;
type ReadoutData = { experiment: { variants: { variant: string; units: number }[] } };

describe('experiments under access policies', () => {
  it('refuses an experiment whose metrics the caller may not see, and leaves it out of the list', async () => {
    // checkout_v2's guardrail average_order_value is computed from revenue, restricted to finance roles.
    const refused = await h.gql<ReadoutData>(READOUT, { name: 'checkout_v2' }, h.keys.analyst);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const listed = await h.gql<{ experiments: { name: string }[] }>('{ experiments { name } }', {}, h.keys.analyst);
    expect(listed.data?.experiments.map((e) => e.name)).not.toContain('checkout_v2');
    const admin = await h.gql<ReadoutData>(READOUT, { name: 'checkout_v2' }, h.keys.admin);
    expect(admin.errors).toBeUndefined();
  });

  it("applies the caller's row filter to the assignments and the metrics", async () => {
    const kr = await h.gql<ReadoutData>(READOUT, { name: 'search_ranking_v1' }, h.keys.kr);
    const admin = await h.gql<ReadoutData>(READOUT, { name: 'search_ranking_v1' }, h.keys.admin);
    expect(kr.errors).toBeUndefined();
    const expected = await h.engine.query(`
      SELECT a.variant, count(*) AS units FROM (
        SELECT user_id, min(variant) AS variant FROM experiment_assignments
        WHERE experiment = 'search_ranking_v1' AND assigned_at >= TIMESTAMP '2024-01-01' AND assigned_at < TIMESTAMP '2026-01-01'
          AND user_id IN (SELECT user_id FROM users WHERE country = 'KR')
        GROUP BY user_id HAVING count(DISTINCT variant) = 1) a
      GROUP BY a.variant ORDER BY a.variant`);
    expect(kr.data?.experiment.variants.map((v) => [v.variant, v.units])).toEqual(expected.rows.map((r) => [r[0], Number(r[1])]));
    const total = (d: ReadoutData | undefined): number => (d?.experiment.variants ?? []).reduce((s, v) => s + v.units, 0);
    expect(total(kr.data)).toBeGreaterThan(0);
    expect(total(kr.data)).toBeLessThan(total(admin.data));
  });
});
