/**
 * The readout statement's per-variant sufficient statistics equal hand-written SQL over the
 * fixture tables, on DuckDB and on Postgres: units (multi-variant units left out), sums and sums
 * of squares of per-unit values after assignment, within the attribution window and before the
 * end; the CUPED pre-period sums and cross-products; the ratio metric's cross-product; a
 * conversion metric as 0/1 per unit; a metric reached through a join (order_items → orders);
 * and an access-policy row filter applied to the assignments and to every metric.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engines/engine.js';
import { compileReadout, readExperiment } from '../../src/experiments/readout.js';
import { projectFromSources, type Project } from '../../src/project.js';
import { parseExpression } from '../../src/query/parse-expression.js';
import { openFixtureDb, type Row, sqlRows } from '../helpers/fixture-db.js';
import { openFixturePostgres } from '../helpers/postgres-db.js';
import { FX_ASSIGNMENTS, FX_EXPERIMENT } from './fx-fixture.js';

const EXPERIMENT = FX_EXPERIMENT;
const ASSIGN = FX_ASSIGNMENTS;

/** Hand-written: the same definitions spelled out over the tables, in SQL both engines run. */
function handSql(country?: string): string {
  const inCountry = (userCol: string): string => (country ? ` AND ${userCol} IN (SELECT user_id FROM users WHERE country = '${country}')` : '');
  const post = `x.t >= a.assigned_at AND x.t < a.assigned_at + INTERVAL '60 days'`;
  const pre = `x.t < a.assigned_at`;
  return `
    WITH a AS (
      SELECT user_id AS unit, MIN(variant) AS variant, MIN(assigned_at) AS assigned_at
      FROM experiment_assignments
      WHERE experiment = 'fx' AND assigned_at >= TIMESTAMP '2024-11-01 00:00:00' AND assigned_at < TIMESTAMP '2025-03-01 00:00:00'${inCountry('user_id')}
      GROUP BY user_id HAVING COUNT(DISTINCT variant) = 1
    ),
    o AS (SELECT user_id AS u, ordered_at AS t, status, amount, order_id FROM orders WHERE TRUE${inCountry('user_id')}),
    i AS (SELECT o.user_id AS u, o.ordered_at AS t, i.quantity FROM order_items i JOIN orders o ON o.order_id = i.order_id WHERE TRUE${inCountry('o.user_id')}),
    per_orders AS (
      SELECT a.unit,
        COUNT(x.order_id) FILTER (WHERE ${post}) AS orders, COUNT(x.order_id) FILTER (WHERE ${pre}) AS orders_pre,
        SUM(x.amount) FILTER (WHERE ${post} AND x.status IN ('paid', 'shipped')) AS revenue,
        SUM(x.amount) FILTER (WHERE ${pre} AND x.status IN ('paid', 'shipped')) AS revenue_pre,
        COUNT(x.order_id) FILTER (WHERE ${post} AND x.status IN ('paid', 'shipped')) AS paid,
        COUNT(x.order_id) FILTER (WHERE ${pre} AND x.status IN ('paid', 'shipped')) AS paid_pre
      FROM a JOIN o x ON x.u = a.unit
      WHERE x.t >= a.assigned_at - INTERVAL '14 days' AND x.t < TIMESTAMP '2025-03-01 00:00:00'
      GROUP BY a.unit
    ),
    per_items AS (
      SELECT a.unit, SUM(x.quantity) FILTER (WHERE ${post}) AS items, SUM(x.quantity) FILTER (WHERE ${pre}) AS items_pre
      FROM a JOIN i x ON x.u = a.unit
      WHERE x.t >= a.assigned_at - INTERVAL '14 days' AND x.t < TIMESTAMP '2025-03-01 00:00:00'
      GROUP BY a.unit
    ),
    u AS (
      SELECT a.variant,
        COALESCE(p.orders, 0) AS orders, COALESCE(p.orders_pre, 0) AS orders_pre,
        COALESCE(p.revenue, 0) AS revenue, COALESCE(p.revenue_pre, 0) AS revenue_pre,
        COALESCE(p.paid, 0) AS paid, COALESCE(p.paid_pre, 0) AS paid_pre,
        CASE WHEN COALESCE(p.paid, 0) > 0 THEN 1 ELSE 0 END AS converted,
        CASE WHEN COALESCE(p.paid_pre, 0) > 0 THEN 1 ELSE 0 END AS converted_pre,
        COALESCE(it.items, 0) AS items, COALESCE(it.items_pre, 0) AS items_pre
      FROM a LEFT JOIN per_orders p ON p.unit = a.unit LEFT JOIN per_items it ON it.unit = a.unit
    )
    SELECT variant, COUNT(*) AS units,
      SUM(orders) AS orders_s, SUM(orders * orders) AS orders_ss, SUM(orders_pre) AS orders_ps, SUM(orders_pre * orders_pre) AS orders_pss, SUM(orders * orders_pre) AS orders_pc,
      SUM(revenue) AS revenue_s, SUM(revenue * revenue) AS revenue_ss, SUM(revenue_pre) AS revenue_ps, SUM(revenue * revenue_pre) AS revenue_pc,
      SUM(paid) AS paid_s, SUM(paid * paid) AS paid_ss, SUM(revenue * paid) AS aov_cross,
      SUM(converted) AS conv_s, SUM(converted_pre) AS conv_ps, SUM(converted * converted_pre) AS conv_pc,
      SUM(items) AS items_s, SUM(items * items) AS items_ss, SUM(items_pre) AS items_ps
    FROM u GROUP BY variant ORDER BY variant`;
}

/** Which column of Tally's statement each hand-written column stands for. */
const SAME: Record<string, string> = {
  units: 'units',
  orders_s: 'orders_value_0__sum',
  orders_ss: 'orders_value_0__sum_squares',
  orders_ps: 'orders_value_0__pre_sum',
  orders_pss: 'orders_value_0__pre_sum_squares',
  orders_pc: 'orders_value_0__pre_cross',
  revenue_s: 'revenue_value_0__sum',
  revenue_ss: 'revenue_value_0__sum_squares',
  revenue_ps: 'revenue_value_0__pre_sum',
  revenue_pc: 'revenue_value_0__pre_cross',
  // average_order_value = revenue / paid_orders: the numerator is revenue per unit again.
  paid_s: 'average_order_value_den_1__sum',
  paid_ss: 'average_order_value_den_1__sum_squares',
  aov_cross: 'average_order_value_num_0__cross',
  conv_s: 'signup_to_paid_order_7d_value_0__sum',
  conv_ps: 'signup_to_paid_order_7d_value_0__pre_sum',
  conv_pc: 'signup_to_paid_order_7d_value_0__pre_cross',
  items_s: 'items_sold_value_0__sum',
  items_ss: 'items_sold_value_0__sum_squares',
  items_ps: 'items_sold_value_0__pre_sum',
};

let project: Project;
const engines: { name: string; engine: Engine }[] = [];

const asNumber = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

beforeAll(async () => {
  const base = ['metrics/models.yml', 'metrics/metrics.yml'].map((f) => ({ display: f, text: readFileSync(f, 'utf8') }));
  project = projectFromSources([...base, { display: 'metrics/experiments.yml', text: EXPERIMENT }]);
  const duck = await openFixtureDb();
  const pg = await openFixturePostgres('experiments');
  for (const e of [duck, pg]) for (const s of ASSIGN) await e.query(s);
  engines.push({ name: 'duckdb', engine: duck }, { name: 'postgres', engine: pg });
}, 120_000);

afterAll(async () => {
  await Promise.all(engines.map((e) => e.engine.close()));
});

async function compare(engine: Engine, country?: string): Promise<void> {
  const rowFilters = country ? [parseExpression(`user.country = '${country}'`)] : [];
  const tally = await sqlRows(engine, compileReadout(project, 'fx', engine.dialect, rowFilters).sql);
  const hand = await sqlRows(engine, handSql(country));
  expect(hand.length, 'the hand-written SQL has both variants').toBe(2);
  expect(tally.map((r) => r.variant)).toEqual(hand.map((r) => r.variant));
  hand.forEach((h, i) => {
    for (const [mine, theirs] of Object.entries(SAME)) {
      const expected = asNumber(h[mine]);
      const actual = asNumber(tally[i][theirs]);
      expect(actual, `${String(h.variant)} ${theirs}`).toBeCloseTo(expected, 6);
    }
  });
  // Not vacuous: orders after assignment, a pre-period, a conversion and items in the data.
  const total = (k: string): number => hand.reduce((s, h) => s + asNumber(h[k]), 0);
  for (const k of country ? ['orders_s', 'units'] : ['orders_s', 'orders_ps', 'conv_s', 'items_s', 'aov_cross']) expect(total(k), k).toBeGreaterThan(0);
}

describe('per-variant sufficient statistics equal hand-written SQL', () => {
  for (const name of ['duckdb', 'postgres']) {
    it(`on ${name}`, async () => {
      const { engine } = engines.find((e) => e.name === name) ?? { engine: undefined };
      if (!engine) throw new Error(`no ${name}`);
      await compare(engine);
    });
    it(`on ${name}, with an access-policy row filter on every source`, async () => {
      const { engine } = engines.find((e) => e.name === name) ?? { engine: undefined };
      if (!engine) throw new Error(`no ${name}`);
      await compare(engine, 'US');
    });
  }

  it('the readout sends only per-variant rows back and carries the audit record', async () => {
    const { engine } = engines[0];
    const r = await readExperiment(project, engine, 'fx', { now: new Date('2025-02-01T00:00:00Z') });
    expect(r.variants.map((v) => v.variant)).toEqual(['control', 'treatment']);
    expect(r.sql).toContain('GROUP BY "units"."variant"');
    expect(r.version).toBe(project.version);
    expect(r.lineage.length).toBeGreaterThan(0);
    expect(r.metrics.map((m) => m.metric)).toEqual(['orders', 'revenue', 'average_order_value', 'signup_to_paid_order_7d', 'items_sold']);
  });
});
