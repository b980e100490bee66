/**
 * Access policies over the API: each role sees exactly its rows for every metric type (simple,
 * ratio, cumulative, derived with an offset, conversion), checked against hand-written SQL with
 * the same restriction; restricted metrics (and everything computed from them) are refused with
 * FORBIDDEN; a role whose row filter cannot apply to a metric does not get it; the catalog shows
 * each caller what it may query.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cell, DefinitionError, projectFromSources } from '../../src/index.js';
import { type Harness, QUERY, startHarness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

type Row = Record<string, unknown>;

async function ask(caller: string, m: string[], g: string[] = [], extra: Record<string, unknown> = {}): Promise<Row[]> {
  const res = await h.gql<{ query: { rows: Row[] } }>(QUERY, { m, g, o: g, ...extra }, h.keys[caller]);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.query.rows;
}

async function refused(caller: string, m: string[], extra: Record<string, unknown> = {}): Promise<string> {
  const res = await h.gql(QUERY, { m, ...extra }, h.keys[caller]);
  expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res)).toBe('FORBIDDEN');
  expect(res.data).toBeNull();
  return res.errors![0].message;
}

/** Hand-written SQL, rows keyed by column name. */
async function sql(text: string): Promise<Row[]> {
  const r = await h.engine.query(text);
  return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c.name, row[i] as Cell])));
}

/** Same rows, in order; numbers compared as numbers (doubles to 1e-9 relative), the rest exactly. */
function expectSameRows(actual: Row[], expected: Row[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, i) => {
    const want = expected[i];
    expect(Object.keys(row)).toEqual(Object.keys(want));
    for (const k of Object.keys(row)) {
      const a = row[k];
      const b = want[k];
      if (a !== null && b !== null && (typeof a === 'number' || typeof b === 'number' || typeof b === 'bigint')) {
        const x = Number(a);
        const y = Number(b);
        expect(Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y)), `row ${i} ${k}: ${String(a)} vs ${String(b)}`).toBe(true);
      } else expect(a, `row ${i} ${k}`).toEqual(b);
    }
  });
  expect(actual.length).toBeGreaterThan(0);
}

const KR = "u.country = 'KR'";

describe('row filters: each role sees exactly its rows, for every metric type', () => {
  it('simple metrics (orders on orders, new_users on users) by month and plan', async () => {
    const rows = await ask('kr', ['orders', 'new_users'], ['metric_time.month', 'user.plan']);
    const expected = await sql(`
      WITH o AS (SELECT CAST(date_trunc('month', o.ordered_at) AS DATE) AS m, u.plan, count(o.order_id) AS n FROM orders o LEFT JOIN users u ON u.user_id = o.user_id WHERE ${KR} GROUP BY 1, 2),
           s AS (SELECT CAST(date_trunc('month', u.signed_up_at) AS DATE) AS m, u.plan, count(u.user_id) AS n FROM users u WHERE ${KR} GROUP BY 1, 2)
      SELECT coalesce(o.m, s.m) AS "metric_time.month", coalesce(o.plan, s.plan) AS "user.plan", coalesce(o.n, 0) AS orders, coalesce(s.n, 0) AS new_users
      FROM o FULL JOIN s ON o.m = s.m AND o.plan = s.plan ORDER BY 1, 2`);
    expectSameRows(rows, expected);
    // The same request by an unrestricted role sees more.
    const all = await ask('admin', ['orders'], []);
    const kr = await ask('kr', ['orders'], []);
    expect(Number(all[0].orders)).toBeGreaterThan(Number(kr[0].orders));
  });

  it('a ratio metric: both sides are restricted before dividing', async () => {
    const rows = await ask('kr', ['search_ctr'], ['metric_time.month']);
    const expected = await sql(`
      SELECT CAST(date_trunc('month', e.occurred_at) AS DATE) AS "metric_time.month",
             CAST(sum(CASE WHEN e.event_type = 'search_click' THEN 1 ELSE 0 END) AS DOUBLE) / NULLIF(sum(CASE WHEN e.event_type = 'search' THEN 1 ELSE 0 END), 0) AS search_ctr
      FROM events e LEFT JOIN users u ON u.user_id = e.user_id WHERE ${KR} GROUP BY 1 ORDER BY 1`);
    expectSameRows(rows, expected);
  });

  it('a cumulative metric (WAU): every window counts only the rows the role may see', async () => {
    const rows = await ask('kr', ['wau'], ['metric_time.day'], { from: '2025-03-01', to: '2025-03-31' });
    const expected = await sql(`
      WITH kr_events AS (SELECT e.user_id, e.occurred_at FROM events e JOIN users u ON u.user_id = e.user_id WHERE ${KR}),
           days AS (SELECT CAST(d AS DATE) AS day FROM range(TIMESTAMP '2025-03-01', TIMESTAMP '2025-04-01', INTERVAL 1 DAY) t(d))
      SELECT day AS "metric_time.day", count(DISTINCT k.user_id) AS wau
      -- Every day of the range is in the answer; a day whose window holds no KR event counts 0.
      FROM days LEFT JOIN kr_events k ON k.occurred_at >= day - INTERVAL 6 DAY AND k.occurred_at < day + INTERVAL 1 DAY
      GROUP BY 1 ORDER BY 1`);
    expectSameRows(rows, expected);
  });

  it('a derived metric with an offset: this month and last month are both restricted', async () => {
    const rows = await ask('kr', ['orders_growth_mom'], ['metric_time.month'], { from: '2024-06-01', to: '2025-05-31' });
    const expected = await sql(`
      WITH m AS (SELECT date_trunc('month', o.ordered_at) AS m, count(o.order_id) AS n FROM orders o JOIN users u ON u.user_id = o.user_id WHERE ${KR} GROUP BY 1),
           months AS (SELECT d AS m FROM range(TIMESTAMP '2024-06-01', TIMESTAMP '2025-06-01', INTERVAL 1 MONTH) t(d))
      SELECT CAST(months.m AS DATE) AS "metric_time.month", CAST(coalesce(cur.n, 0) - coalesce(prev.n, 0) AS DOUBLE) / NULLIF(coalesce(prev.n, 0), 0) AS orders_growth_mom
      FROM months LEFT JOIN m cur ON cur.m = months.m LEFT JOIN m prev ON prev.m = months.m - INTERVAL 1 MONTH
      WHERE cur.n IS NOT NULL OR prev.n IS NOT NULL ORDER BY 1`);
    expectSameRows(rows, expected);
  });

  it('a derived metric with an offset on a restricted metric, for a role restricted to its rows', async () => {
    const rows = await ask('kr_finance', ['revenue_growth_mom'], ['metric_time.month'], { from: '2024-06-01', to: '2025-05-31' });
    const expected = await sql(`
      WITH m AS (SELECT date_trunc('month', o.ordered_at) AS m, sum(o.amount) AS r FROM orders o JOIN users u ON u.user_id = o.user_id
                 WHERE ${KR} AND o.status IN ('paid', 'shipped') GROUP BY 1),
           months AS (SELECT d AS m FROM range(TIMESTAMP '2024-06-01', TIMESTAMP '2025-06-01', INTERVAL 1 MONTH) t(d))
      SELECT CAST(months.m AS DATE) AS "metric_time.month", CAST(coalesce(cur.r, 0) - coalesce(prev.r, 0) AS DOUBLE) / NULLIF(coalesce(prev.r, 0), 0) AS revenue_growth_mom
      FROM months LEFT JOIN m cur ON cur.m = months.m LEFT JOIN m prev ON prev.m = months.m - INTERVAL 1 MONTH
      WHERE cur.r IS NOT NULL OR prev.r IS NOT NULL ORDER BY 1`);
    expectSameRows(rows, expected);
  });

  it('a conversion metric: base events and conversion events are both restricted', async () => {
    const res = await h.gql<{ query: { rows: Row[]; sql: string } }>(QUERY, { m: ['signup_to_paid_order_7d'], g: ['metric_time.month'], o: ['metric_time.month'] }, h.keys.kr);
    expect(res.errors).toBeUndefined();
    const expected = await sql(`
      WITH base AS (SELECT u.user_id, u.signed_up_at FROM users u WHERE ${KR}),
           converted AS (SELECT DISTINCT b.user_id FROM base b JOIN orders o ON o.user_id = b.user_id JOIN users cu ON cu.user_id = o.user_id
                         WHERE o.status IN ('paid', 'shipped') AND cu.country = 'KR'
                           AND o.ordered_at >= b.signed_up_at AND o.ordered_at <= b.signed_up_at + INTERVAL 7 DAY)
      SELECT CAST(date_trunc('month', b.signed_up_at) AS DATE) AS "metric_time.month",
             CAST(count(DISTINCT c.user_id) AS DOUBLE) / count(DISTINCT b.user_id) AS signup_to_paid_order_7d
      FROM base b LEFT JOIN converted c ON c.user_id = b.user_id GROUP BY 1 ORDER BY 1`);
    expectSameRows(res.data!.query.rows, expected);
    // The conversion events' own scan carries the row filter too (not only the base events').
    const conversionCte = /"cte_signup_to_paid_order_7d_conversion_events" AS \(([\s\S]*?)\n {2}\)/.exec(res.data!.query.sql)?.[1] ?? '';
    expect(conversionCte).toContain(`"user"."country" = 'KR'`);
  });

  it("a conversion metric: a row filter on the conversion events' own dimension removes conversions the role may not see", async () => {
    const admin = await ask('admin', ['search_clicks_within_1d'], ['metric_time.month']);
    expect(admin.some((r) => Number(r.search_clicks_within_1d) > 0)).toBe(true);
    // no_clicks may not see search_click events: no conversion can be counted from them.
    const rows = await ask('no_clicks', ['search_clicks_within_1d', 'dau'], ['metric_time.month']);
    expect(rows.length).toBe(admin.length);
    // Conversions counted over no conversion events are 0 (an empty count), never a number above it.
    expect(rows.every((r) => Number(r.search_clicks_within_1d) === 0 && r.search_clicks_within_1d !== null)).toBe(true);
    const dau = await sql(`
      SELECT CAST(date_trunc('month', occurred_at) AS DATE) AS "metric_time.month", count(DISTINCT user_id) AS dau
      FROM events WHERE event_type IN ('page_view', 'search', 'add_to_cart') GROUP BY 1 ORDER BY 1`);
    expectSameRows(rows.map((r) => ({ 'metric_time.month': r['metric_time.month'], dau: r.dau })), dau);
  });

  it('claims from a token bind as values: a list claim is an IN list', async () => {
    const token = await h.token({ roles: ['kr_analyst'], country: ['KR', 'JP'] });
    const res = await h.gql<{ query: { rows: Row[] } }>(QUERY, { m: ['orders'], g: ['user.country'], o: ['user.country'] }, token);
    expect(res.errors).toBeUndefined();
    const expected = await sql(`SELECT u.country AS "user.country", count(o.order_id) AS orders FROM orders o JOIN users u ON u.user_id = o.user_id WHERE u.country IN ('JP', 'KR') GROUP BY 1 ORDER BY 1`);
    expectSameRows(res.data!.query.rows, expected);
    // A claim value that looks like SQL is a value: it matches nothing.
    const hostile = await h.token({ roles: ['kr_analyst'], country: "KR' OR '1'='1" });
    const none = await h.gql<{ query: { rows: Row[] } }>(QUERY, { m: ['orders'] }, hostile);
    expect(none.errors).toBeUndefined();
    expect(none.data!.query.rows).toEqual([{ orders: '0' }]); // a count is a Decimal string, as in the typed query
  });

  it('filters of the request hold together with the row filter; listing values shows only permitted ones', async () => {
    const us = await h.gql<{ metrics: { rows: { orders: string | null }[] } }>('{ metrics(filter: { user: { country: { equals: "US" } } }) { rows { orders } } }', undefined, h.keys.kr);
    expect(us.errors).toBeUndefined();
    expect(us.data!.metrics.rows).toEqual([{ orders: '0' }]);
    const values = await ask('kr', [], ['user.country']);
    expect(values).toEqual([{ 'user.country': 'KR' }]);
    const allValues = await ask('admin', [], ['user.country']);
    expect(allValues.length).toBeGreaterThan(3);
  });

  it('a metric used inside a filter is computed over the permitted rows only', async () => {
    const rows = await ask('kr', ['orders'], [], { w: 'user.orders >= 3' });
    const expected = await sql(`
      WITH per_user AS (SELECT o.user_id, count(*) AS n FROM orders o JOIN users u ON u.user_id = o.user_id WHERE ${KR} GROUP BY 1)
      SELECT count(o.order_id) AS orders FROM orders o JOIN users u ON u.user_id = o.user_id JOIN per_user p ON p.user_id = o.user_id WHERE ${KR} AND p.n >= 3`);
    expectSameRows(rows, expected);
  });
});

describe('metric-level access', () => {
  it('restricted metrics, and every metric computed from them, are refused with FORBIDDEN', async () => {
    for (const m of ['revenue', 'average_order_value', 'revenue_growth_mom', 'revenue_mtd']) {
      expect(await refused('analyst', [m])).toMatch(/restricted to the roles admin, finance, kr_finance/);
      await refused('kr', [m]);
    }
    // Through the typed query too, and used inside a filter.
    const typed = await h.gql('{ metrics { rows { averageOrderValue } } }', undefined, h.keys.analyst);
    expect(typed.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    await refused('analyst', ['orders'], { w: 'user.revenue > 100' });
    // Allowed roles get them.
    expect((await ask('finance', ['average_order_value'])).length).toBe(1);
  });

  it('a role whose row filter cannot reach a metric does not get it (refused, never answered unfiltered)', async () => {
    // order.status is not reachable from users or events.
    for (const m of ['new_users', 'dau', 'wau', 'signup_to_paid_order_7d', 'stickiness']) {
      expect(await refused('paid_only', [m])).toMatch(/cannot be limited to the rows role 'paid_only' may see/);
    }
    const rows = await ask('paid_only', ['orders', 'items_sold'], []);
    const expected = await sql(`
      SELECT (SELECT count(*) FROM orders WHERE status IN ('paid', 'shipped')) AS orders,
             (SELECT sum(i.quantity) FROM order_items i JOIN orders o ON o.order_id = i.order_id WHERE o.status IN ('paid', 'shipped')) AS items_sold`);
    expectSameRows(rows, expected);
  });

  it('callers without a known role or without the claim their role needs are refused', async () => {
    expect(await refused('nobody', ['orders'])).toMatch(/has no role/);
    expect(await refused('kr_without_claim', ['orders'])).toMatch(/'country' claim/);
    const unknownRole = await h.token({ roles: ['wizard'] });
    const res = await h.gql(QUERY, { m: ['orders'] }, unknownRole);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('the catalog shows each caller only what it may query', async () => {
    const names = async (caller: string): Promise<string[]> => {
      const res = await h.gql<{ catalog: { metrics: { name: string }[] } }>('{ catalog { metrics { name } } }', undefined, h.keys[caller]);
      expect(res.errors).toBeUndefined();
      return res.data!.catalog.metrics.map((m) => m.name).sort();
    };
    const all = await names('admin');
    expect(all).toEqual(expect.arrayContaining(['revenue', 'average_order_value', 'orders_growth_mom']));
    const finance = ['revenue', 'average_order_value', 'revenue_mtd', 'revenue_growth_mom'];
    expect(await names('analyst')).toEqual(all.filter((m) => !finance.includes(m)));
    expect(await names('kr')).toEqual(all.filter((m) => !finance.includes(m)));
    expect(await names('kr_finance')).toEqual(all);
    expect(await names('paid_only')).toEqual(['items_sold', 'orders', 'orders_growth_mom', 'paid_orders']);
    expect(await names('nobody')).toEqual([]);
  });

  it('answers are cached per caller: a restricted caller never gets an unrestricted answer', async () => {
    const admin = await ask('admin', ['orders'], ['metric_time.year']);
    const kr = await ask('kr', ['orders'], ['metric_time.year']);
    const again = await ask('admin', ['orders'], ['metric_time.year']);
    expect(again).toEqual(admin);
    expect(kr).not.toEqual(admin);
  });
});

describe('policies are definitions', () => {
  it('reports every problem in an access section at file:line:col', () => {
    const sources = ['models.yml', 'metrics.yml'].map((f) => ({ display: `metrics/${f}`, text: readFileSync(`metrics/${f}`, 'utf8') }));
    const problems = (access: string): string[] => {
      try {
        projectFromSources([...sources, { display: 'metrics/access.yml', text: access }]);
      } catch (e) {
        expect(e).toBeInstanceOf(DefinitionError);
        return (e as DefinitionError).problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`);
      }
      throw new Error('expected problems');
    };
    // The shape first (as for metrics: a file of the wrong shape is reported and not read further)…
    expect(problems('access:\n  roles:\n    - name: r\n      row_filters:\n        - { dimension: user.country, claim: country, values: [KR] }\n')).toEqual([
      expect.stringMatching(/^metrics\/access\.yml:5:11: .*exactly one of `claim` or `values`/),
    ]);
    // …then every reference, each at its place.
    expect(
      problems(`access:
  roles:
    - name: kr_analyst
      row_filters:
        - { dimension: user.nope, claim: country }
        - { filter: "order.status = " }
    - name: kr_analyst
  restricted:
    - metrics: [revenue, revenu]
      roles: [finance]
`),
    ).toEqual([
      expect.stringMatching(/^metrics\/access\.yml:5:24: unknown dimension 'nope' of entity 'user'/),
      expect.stringMatching(/^metrics\/access\.yml:6:21: Invalid expression in a row filter/),
      expect.stringMatching(/^metrics\/access\.yml:7:13: role 'kr_analyst' is defined twice/),
      expect.stringMatching(/^metrics\/access\.yml:9:26: unknown metric 'revenu'\. Did you mean 'revenue'/),
      expect.stringMatching(/^metrics\/access\.yml:10:15: unknown role 'finance'/),
    ]);
  });
});
