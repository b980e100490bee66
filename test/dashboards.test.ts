/**
 * Dashboards as code: `dashboards:` is validated at file:line:col like every definition, each
 * tile's dates follow the calendar (checked against DuckDB's date_trunc and interval arithmetic),
 * and the GraphQL `dashboards` field lists for each caller only the tiles it may query.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodOf, periodStart, resolveTile, shiftPeriods } from '../src/dashboards.js';
import { type DashboardGrain, dashboardSchema } from '../src/definitions/schema.js';
import { DefinitionError, DuckDBEngine, projectFromSources } from '../src/index.js';
import { type Harness, startHarness } from './security/harness.js';

const models = `semantic_models:
  - name: orders
    table: orders
    defaults: { agg_time_dimension: ordered_at }
    entities:
      - { name: order, type: primary, expr: order_id }
      - { name: user, type: foreign, expr: user_id }
    dimensions:
      - { name: ordered_at, type: time }
      - { name: status, type: categorical }
    measures:
      - { name: order_amount, agg: sum, expr: amount }
  - name: users
    table: users
    entities:
      - { name: user, type: primary, expr: user_id }
    dimensions:
      - { name: country, type: categorical }
    measures:
      - { name: user_count, agg: count, expr: user_id }
  - name: budgets
    table: budgets
    defaults: { agg_time_dimension: budget_month }
    primary_entity: budget
    dimensions:
      - { name: budget_month, type: time, granularity: month }
    measures:
      - { name: budget_amount, agg: sum, expr: amount }
metrics:
  - { name: revenue, type: simple, measure: order_amount }
  - { name: user_total, type: simple, measure: user_count }
  - { name: budget, type: simple, measure: budget_amount }
`;

function problems(dashboards: string): string[] {
  try {
    projectFromSources([
      { display: 'models.yml', text: models },
      { display: 'dash.yml', text: dashboards },
    ]);
  } catch (e) {
    if (e instanceof DefinitionError) return e.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`);
    throw e;
  }
  return [];
}

describe('dashboards: validation', () => {
  it('accepts a dashboard and reports every problem of a bad one at its place', () => {
    expect(problems('dashboards:\n  - name: key\n    tiles:\n      - { metric: revenue, range: last 12 months, breakdown: user.country }\n')).toEqual([]);
    const out = problems(`dashboards:
  - name: key
    tiles:
      - metric: revnue
        range: last 12 months
      - metric: user_total
        range: last 3 months
      - metric: revenue
        range: { from: "2025-12-01", to: "2025-01-01" }
        breakdown: user.countri
  - name: key
    tiles:
      - { metric: revenue, range: last 2 months }
      - { metric: budget, range: last 30 days, grain: day }
      - { metric: budget, range: last 2 quarters, grain: quarter }
`);
    expect(out).toEqual([
      "dash.yml:4:17: unknown metric 'revnue'. Did you mean 'revenue'? A tile shows one metric defined under 'metrics'",
      "dash.yml:6:17: metric 'user_total' has no time axis, so a tile cannot chart it over time; choose a metric whose measures have a time dimension",
      'dash.yml:9:42: the range ends (2025-01-01) before it starts (2025-12-01); swap from and to',
      "dash.yml:10:20: unknown dimension 'user.countri'. Did you mean 'user.country'? A breakdown is a categorical dimension reference such as entity.dimension",
      "dash.yml:11:11: dashboard 'key' is defined twice; rename one of them",
      "dash.yml:14:55: metric 'budget' is recorded by month, so it cannot be charted by day; use grain: month or coarser",
    ]);
  });

  it('a tile of a metric with an unknown measure reports that measure once, not also a missing time axis', () => {
    const out = problems(`metrics:
  - { name: broken, type: simple, measure: order_amont }
  - { name: broken_ratio, type: ratio, numerator: broken, denominator: revenue }
dashboards:
  - name: key
    tiles:
      - { metric: broken, range: last 3 months }
      - { metric: broken_ratio, range: last 3 months }
`);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^dash\.yml:2:44: unknown measure 'order_amont'\. Did you mean 'order_amount'/);
  });

  it('a range that is neither relative nor two dates, and a date that is not one, are shape errors at their place', () => {
    const out = problems('dashboards:\n  - name: key\n    as_of: "2025-02-30"\n    tiles:\n      - { metric: revenue, range: past year }\n');
    expect(out.some((p) => p.startsWith('dash.yml:3:12:') && p.includes('not a calendar date'))).toBe(true);
    expect(out.some((p) => p.startsWith('dash.yml:5:35:') && p.includes("'last N days|weeks|months|quarters|years'"))).toBe(true);
  });
});

describe('dashboards: the dates of a tile', () => {
  const tile = (range: string | { from: string; to: string }, grain: DashboardGrain, comparison: 'previous_period' | 'same_period_last_year') =>
    dashboardSchema.parse({ name: 'd', tiles: [{ metric: 'revenue', range, grain, comparison }] }).tiles[0];

  it('last N periods end at the last complete period at as_of', () => {
    expect(resolveTile(tile('last 12 months', 'month', 'previous_period'), '2025-12-31')).toMatchObject({
      range: { from: '2025-01-01', to: '2025-12-31' },
      current: { from: '2025-12-01', to: '2025-12-31' },
      compared: { from: '2025-11-01', to: '2025-11-30' },
    });
    // Mid-month, the month is not complete: the range ends with the month before.
    expect(resolveTile(tile('last 3 months', 'month', 'same_period_last_year'), '2025-12-15')).toMatchObject({
      range: { from: '2025-09-01', to: '2025-11-30' },
      current: { from: '2025-11-01', to: '2025-11-30' },
      compared: { from: '2024-11-01', to: '2024-11-30' },
    });
    // 2025-12-31 is a Wednesday: the last complete ISO week ends Sunday 2025-12-28.
    expect(resolveTile(tile('last 4 weeks', 'week', 'same_period_last_year'), '2025-12-31')).toMatchObject({
      range: { from: '2025-12-01', to: '2025-12-28' },
      current: { from: '2025-12-22', to: '2025-12-28' },
      compared: { from: '2024-12-23', to: '2024-12-29' },
    });
    expect(resolveTile(tile('last 28 days', 'day', 'previous_period'), '2025-12-31')).toMatchObject({
      range: { from: '2025-12-04', to: '2025-12-31' },
      current: { from: '2025-12-31', to: '2025-12-31' },
      compared: { from: '2025-12-30', to: '2025-12-30' },
    });
    expect(resolveTile(tile('last 2 years', 'quarter', 'previous_period'), '2025-12-31')).toMatchObject({
      range: { from: '2024-01-01', to: '2025-12-31' },
      current: { from: '2025-10-01', to: '2025-12-31' },
      compared: { from: '2025-07-01', to: '2025-09-30' },
    });
  });

  it('explicit dates cover every period they touch', () => {
    expect(resolveTile(tile({ from: '2024-02-10', to: '2025-03-05' }, 'quarter', 'same_period_last_year'), '2030-01-01')).toMatchObject({
      range: { from: '2024-01-01', to: '2025-03-31' },
      current: { from: '2025-01-01', to: '2025-03-31' },
      compared: { from: '2024-01-01', to: '2024-03-31' },
    });
  });

  it("periods agree with DuckDB's date_trunc and interval arithmetic over three years of days", async () => {
    const engine = await DuckDBEngine.open({ path: ':memory:' });
    try {
      const grains: DashboardGrain[] = ['week', 'month', 'quarter', 'year'];
      const cols = grains.map((g) => `strftime(date_trunc('${g}', d), '%Y-%m-%d'), strftime(date_trunc('${g}', d) + INTERVAL 1 ${g} - INTERVAL 1 DAY, '%Y-%m-%d'), strftime(date_trunc('${g}', d) - INTERVAL 1 ${g}, '%Y-%m-%d')`);
      const result = await engine.query(`SELECT strftime(d, '%Y-%m-%d'), ${cols.join(', ')} FROM range(DATE '2023-01-01', DATE '2026-01-01', INTERVAL 1 DAY) t(d)`);
      expect(result.rows.length).toBe(1096);
      for (const row of result.rows) {
        const day = String(row[0]);
        grains.forEach((g, i) => {
          const [start, end, previous] = row.slice(1 + 3 * i, 4 + 3 * i).map(String);
          expect(periodOf(day, g), `${g} of ${day}`).toEqual({ from: start, to: end });
          expect(shiftPeriods(periodStart(day, g), g, -1), `${g} before ${day}`).toBe(previous);
        });
      }
    } finally {
      await engine.close();
    }
  });
});

describe('dashboards: the GraphQL field and access', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ events: 2_000 });
  });
  afterAll(async () => h?.close());

  const QUERY = `query ($asOf: String) { dashboards(asOf: $asOf) { name title asOf tiles { metric grain rangeText comparison breakdown range { from to } current { from to } compared { from to } } } }`;
  type Tiles = { dashboards: { name: string; asOf: string; tiles: { metric: string; grain: string; current: { from: string } }[] }[] };

  it('lists the example dashboard with each tile’s dates, to a caller who may see every metric', async () => {
    const res = await h.gql<Tiles>(QUERY, {}, h.keys.finance);
    expect(res.errors).toBeUndefined();
    const board = res.data!.dashboards.find((d) => d.name === 'company_key_numbers')!;
    expect(board.asOf).toBe('2025-12-31');
    expect(board.tiles.map((t) => t.metric)).toEqual(['revenue', 'orders', 'dau', 'mau', 'signup_to_paid_order_7d']);
    expect(board.tiles[0]).toMatchObject({ grain: 'MONTH', rangeText: 'last 12 months', comparison: 'previous_period', breakdown: 'user.country', range: { from: '2025-01-01', to: '2025-12-31' }, compared: { from: '2025-11-01', to: '2025-11-30' } });
    const later = await h.gql<Tiles>(QUERY, { asOf: '2025-06-30' }, h.keys.finance);
    expect(later.data!.dashboards[0].tiles[0].current.from).toBe('2025-06-01');
  });

  it('leaves out the tiles of metrics the caller may not query, and refuses a bad date', async () => {
    const res = await h.gql<Tiles>(QUERY, {}, h.keys.analyst);
    expect(res.data!.dashboards[0].tiles.map((t) => t.metric)).toEqual(['orders', 'dau', 'mau', 'signup_to_paid_order_7d']);
    const bad = await h.gql(QUERY, { asOf: 'yesterday' }, h.keys.analyst);
    expect(bad.errors?.[0]?.message).toBe("asOf 'yesterday' is not a date; write YYYY-MM-DD, like 2025-12-31");
    expect((await h.gql(QUERY, {})).status).toBe(401);
  });
});
