/**
 * Routing to rollups (issue 18): for every example metric and a matrix of requests (grains day,
 * week, month and quarter; with and without each rollup dimension; a filter on a rollup dimension;
 * an access row filter on one), the answer from rollups equals the base answer exactly: the same
 * rows, the same column types, the same numbers. Which requests are served is stated here as the
 * specification (`expectedServed`), so a rule that routes too much or too little fails. The
 * rollup tables are written by hand-written SQL (route-fixture.ts) into a store that has no base
 * tables, so a served answer can only have come from them; one answer is also checked against
 * hand-written SQL over the base tables.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Expression } from '../../src/query/expression.js';
import { parseExpressionCached } from '../../src/query/parse-cache.js';
import type { RequestInput } from '../../src/query/request.js';
import { runQuery, type QueryResult } from '../../src/run.js';
import { expectSameRows, sqlRows } from '../helpers/fixture-db.js';
import { openRouteFixture, type RouteFixture } from './route-fixture.js';

let f: RouteFixture;
beforeAll(async () => {
  f = await openRouteFixture();
}, 180_000);
afterAll(async () => {
  await f?.close();
});

const GRAINS = ['day', 'week', 'month', 'quarter'] as const;
const DIMENSIONS: string[][] = [[], ['user.country'], ['user.plan'], ['user.country', 'user.plan']];
const COUNTRY_FILTER = "user.country IN ('US', 'KR', 'DE')";
type Filtering = 'none' | 'where' | 'row filter';
const FILTERINGS: Filtering[] = ['none', 'where', 'row filter'];
const ROW_FILTER: Expression[] = [parseExpressionCached("user.country = 'US'", 'row filter')];

/** Metrics whose measures' parts are kept (orders_daily, events_daily, signups_by_plan_daily). */
const FROM_PARTS = new Set(['revenue', 'orders', 'paid_orders', 'average_order_value', 'items_sold', 'new_users', 'searches', 'search_clicks', 'search_ctr']);
/** Cumulative metrics kept finished per day by country and plan (events_daily), by country (by_country_daily) and alone (activity_sparse). */
const CUMULATIVE_BY_COUNTRY = new Set(['wau', 'mau', 'average_dau', 'stickiness']);

/**
 * The specification: which requests rollups serve. Parts serve any grain made of days and any
 * subset of the rollup's dimensions; a finished metric only at exactly a rollup's dimensions (a
 * cumulative one at any coarser grain, a distinct count or conversion only at its day grain); a
 * filter must be on the rollup's columns; an offset is followed where it moves whole requested
 * periods.
 */
function expectedServed(metric: string, grain: string, dims: string[], filtering: Filtering): boolean {
  const exactly = (want: string[]): boolean => dims.length === want.length && want.every((d) => dims.includes(d));
  const countryAndPlan = exactly(['user.country', 'user.plan']);
  const country = exactly(['user.country']);
  if (FROM_PARTS.has(metric)) return true;
  // Its previous month is the leaf over the range moved a month back, relabelled: only where a
  // month is a whole number of the requested periods (not by day or week, not by quarter).
  if (metric === 'revenue_growth_mom') return grain === 'month';
  if (metric === 'dau') return grain === 'day' && (countryAndPlan || country);
  // A cumulative metric kept per day serves every grain made of days: a coarser period reads the
  // period's own last day (or the average over its days, a day without a row counting as empty),
  // by the base's rule. Without dimensions from activity_sparse, which has no country to filter.
  if (CUMULATIVE_BY_COUNTRY.has(metric)) return countryAndPlan || country || (dims.length === 0 && filtering === 'none');
  if (metric === 'revenue_mtd') return country || (dims.length === 0 && filtering === 'none');
  // The conversion is kept by plan only: a filter on the country cannot be applied to it.
  if (metric === 'signup_to_paid_order_7d') return grain === 'day' && exactly(['user.plan']) && filtering === 'none';
  throw new Error(`no expectation for metric '${metric}'`);
}

function requestOf(metric: string, grain: string, dims: string[], filtering: Filtering): RequestInput {
  return { metrics: [metric], groupBy: [`metric_time.${grain}`, ...dims], from: '2025-01-01', to: '2025-06-30', where: filtering === 'where' ? COUNTRY_FILTER : undefined };
}

async function bothWays(request: RequestInput, rowFilters: Expression[] = []): Promise<{ base: QueryResult; routed: QueryResult }> {
  const base = await runQuery(f.project, f.base, request, { rowFilters });
  const routed = await runQuery(f.project, f.base, request, { rowFilters, rollups: f.source });
  return { base, routed };
}

function expectSameAnswer(routed: QueryResult, base: QueryResult): void {
  expect(routed.columns).toEqual(base.columns);
  expectSameRows(routed.rows, base.rows);
}

describe('every example metric over a matrix of requests', () => {
  it('is answered from rollups exactly where the rules allow, with the base answer', async () => {
    const metrics = [...f.project.graph.metrics.keys()];
    expect(metrics.length).toBeGreaterThanOrEqual(17);
    let served = 0;
    let nonEmpty = 0;
    for (const metric of metrics) {
      for (const grain of GRAINS) {
        for (const dims of DIMENSIONS) {
          for (const filtering of FILTERINGS) {
            const request = requestOf(metric, grain, dims, filtering);
            const { base, routed } = await bothWays(request, filtering === 'row filter' ? ROW_FILTER : []);
            const label = `${metric} by ${grain} ${dims.join('+') || '(no dimension)'}, ${filtering}`;
            expect(routed.rollups?.served, `${label}: ${routed.rollups?.reason ?? 'served'}`).toBe(expectedServed(metric, grain, dims, filtering));
            expectSameAnswer(routed, base);
            if (routed.rollups?.served) {
              served += 1;
              if (routed.rows.length) nonEmpty += 1;
              expect(routed.sql).toContain('-- from rollup');
              expect(routed.rollups.rollups.length).toBeGreaterThan(0);
            } else {
              // A refused request is the base request: the same SQL as without rollups.
              expect(routed.sql).toBe(base.sql);
            }
          }
        }
      }
    }
    // Most of the matrix is served, and served answers have rows to compare.
    expect(served).toBeGreaterThan(300);
    expect(nonEmpty).toBe(served);
  }, 600_000);

  it('serves several metrics of several rollups in one request and equals hand-written SQL', async () => {
    const request: RequestInput = { metrics: ['revenue', 'orders', 'searches', 'dau'], groupBy: ['metric_time.day', 'user.country', 'user.plan'], from: '2025-03-01', to: '2025-03-31' };
    const { base, routed } = await bothWays(request);
    expect(routed.rollups?.served).toBe(true);
    expect(new Set(routed.rollups?.rollups.map((r) => r.name))).toEqual(new Set(['orders_daily', 'events_daily']));
    expectSameAnswer(routed, base);
    const revenue = await runQuery(f.project, f.base, { metrics: ['revenue'], groupBy: ['metric_time.month', 'user.country'], from: '2025-01-01', to: '2025-06-30' }, { rollups: f.source });
    expect(revenue.rollups?.served).toBe(true);
    const handWritten = await sqlRows(
      f.base,
      `SELECT CAST(date_trunc('month', o.ordered_at) AS DATE) AS "metric_time.month", u.country AS "user.country", SUM(o.amount) AS revenue
       FROM orders o JOIN users u ON u.user_id = o.user_id
       WHERE o.status IN ('paid', 'shipped') AND o.ordered_at >= '2025-01-01' AND o.ordered_at < '2025-07-01'
       GROUP BY 1, 2`,
    );
    expectSameRows(revenue.rows, handWritten);
  });
});

describe('routing refuses what would differ, and the request falls through to the base tables', () => {
  const refusals: { what: string; request: RequestInput; reason: RegExp; stale?: boolean }[] = [
    { what: 'a distinct count at a coarser grain', request: { metrics: ['dau'], groupBy: ['metric_time.month', 'user.country'], from: '2025-01-01', to: '2025-06-30' }, reason: /only at exactly its grain/ },
    { what: 'a cumulative metric whose periods need days beyond the covered range', request: { metrics: ['mau'], groupBy: ['metric_time.month', 'user.country'], from: '2025-11-01', to: '2026-01-31' }, reason: /not within \[2024-01-01, 2026-01-01\)/ },
    { what: 'a cumulative metric in another time zone', request: { metrics: ['mau'], groupBy: ['metric_time.month', 'user.country'], from: '2025-01-01', to: '2025-06-30', timeZone: 'Asia/Seoul' }, reason: /cut in UTC; the request is in Asia\/Seoul/ },
    // The base drops rows before the windows (other countries' January rows stay in February's
    // windows); finished values could only drop whole days of a country: they differ (checked
    // with the refusal switched off: 278 rows against the base's 450 by day).
    { what: 'a cumulative metric with a filter mixing metric_time and a dimension', request: { metrics: ['mau'], groupBy: ['metric_time.month', 'user.country'], where: "user.country = 'US' OR metric_time.day < '2025-02-01'", from: '2025-01-01', to: '2025-06-30' }, reason: /names metric_time and a dimension together/ },
    { what: 'the same filter at exactly the rollup grain', request: { metrics: ['mau'], groupBy: ['metric_time.day', 'user.country'], where: "user.country = 'US' OR metric_time.day < '2025-02-01'", from: '2025-01-01', to: '2025-03-31' }, reason: /names metric_time and a dimension together/ },
    { what: 'a distinct count over fewer dimensions', request: { metrics: ['dau'], groupBy: ['metric_time.day'], from: '2025-01-01', to: '2025-01-31' }, reason: /does not group by user\.country/ },
    { what: 'a filter on a dimension the rollup lacks', request: { metrics: ['searches'], groupBy: ['metric_time.month'], where: "event.event_type = 'search'", from: '2025-01-01', to: '2025-06-30' }, reason: /a filter reads 'event\.event_type'/ },
    { what: 'a group-by the rollup lacks', request: { metrics: ['searches'], groupBy: ['metric_time.month', 'event.event_type'], from: '2025-01-01', to: '2025-06-30' }, reason: /groups by 'event\.event_type'/ },
    { what: 'another time zone', request: { metrics: ['orders'], groupBy: ['metric_time.day'], from: '2025-01-01', to: '2025-01-31', timeZone: 'Asia/Seoul' }, reason: /cut in UTC; the request is in Asia\/Seoul/ },
    { what: 'a range not aligned to the rollup grain', request: { metrics: ['orders'], groupBy: ['metric_time.hour'], from: '2025-01-01 05:00', to: '2025-01-02 10:00' }, reason: /made of whole days|not at the start of a day/ },
    { what: 'a range beyond the covered range', request: { metrics: ['orders'], groupBy: ['metric_time.month'], from: '2025-07-01', to: '2026-03-31' }, reason: /not within \[2024-01-01, 2026-01-01\)/ },
    { what: 'a request without a range', request: { metrics: ['orders'], groupBy: ['metric_time.month'] }, reason: /no complete time range/ },
    { what: 'a filter on raw metric_time', request: { metrics: ['orders'], groupBy: ['metric_time.day'], where: "metric_time >= '2025-01-05 12:00'", from: '2025-01-01', to: '2025-01-31' }, reason: /finer than its day buckets/ },
    { what: 'rollups built from other definitions', request: { metrics: ['orders'], groupBy: ['metric_time.month'], from: '2025-01-01', to: '2025-06-30' }, reason: /built from other definitions/, stale: true },
  ];
  for (const c of refusals) {
    it(`refuses ${c.what}`, async () => {
      const source = c.stale ? { ...f.source, fingerprint: (name: string) => `changed-${name}` } : f.source;
      const base = await runQuery(f.project, f.base, c.request);
      const routed = await runQuery(f.project, f.base, c.request, { rollups: source });
      expect(routed.rollups?.served).toBe(false);
      expect(routed.rollups?.reason).toMatch(c.reason);
      expect(routed.rollups?.rollups).toEqual([]);
      expect(routed.sql).toBe(base.sql);
      expectSameAnswer(routed, base);
    });
  }

  it('is all-or-nothing: one refused leaf sends the whole request to the base tables', async () => {
    const request: RequestInput = { metrics: ['orders', 'dau'], groupBy: ['metric_time.month', 'user.country'], from: '2025-01-01', to: '2025-06-30' };
    const { base, routed } = await bothWays(request);
    expect(routed.rollups?.served).toBe(false);
    const leaves = routed.rollups?.leaves ?? [];
    expect(leaves.find((l) => l.leaf.includes("'orders'"))?.rollup).toBe('orders_daily');
    expect(leaves.find((l) => l.leaf.includes("'dau'"))?.refused?.join(' ')).toMatch(/only at exactly its grain/);
    expect(routed.sql).toBe(base.sql);
    expectSameAnswer(routed, base);
  });

  it('says so when no rollup is built, and answers from the base tables', async () => {
    const request: RequestInput = { metrics: ['orders'], groupBy: ['metric_time.month'], from: '2025-01-01', to: '2025-06-30' };
    const { base } = await bothWays(request);
    const routed = await runQuery(f.project, f.base, request, { rollups: { ...f.source, built: [] } });
    expect(routed.rollups).toMatchObject({ served: false, reason: 'no rollup is built' });
    expectSameAnswer(routed, base);
  });
});
