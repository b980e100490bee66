/**
 * Cumulative metrics at coarser grains answered from a rollup's finished values per day (issue
 * 18): a period's value is the window's value on the period's own last day (period_agg last) or
 * the average over all its days (period_agg average), an empty window reading as 0, whether or
 * not the rollup holds a row for that day. Independent truth: hand-written SQL over the base
 * tables (the calendar month's or ISO week's distinct users; the mean of daily distinct users over
 * every day of the month), and the base answer of the same request. The rollup `activity_sparse`
 * (route-fixture.ts) keeps no row for a day whose window is empty, so those days must be read as 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRequest } from '../../src/compile.js';
import type { RequestInput } from '../../src/query/request.js';
import { definitionFingerprint } from '../../src/rollups/fingerprint.js';
import type { BuiltRollup } from '../../src/rollups/types.js';
import { runQuery } from '../../src/run.js';
import { expectSameRows, sqlRows } from '../helpers/fixture-db.js';
import { exampleWith } from './helpers.js';
import { openRouteFixture, type RouteFixture } from './route-fixture.js';

let f: RouteFixture;
beforeAll(async () => {
  f = await openRouteFixture();
}, 180_000);
afterAll(async () => {
  await f?.close();
});

async function routedAndBase(request: RequestInput): Promise<{ routed: Awaited<ReturnType<typeof runQuery>>; base: Awaited<ReturnType<typeof runQuery>> }> {
  const base = await runQuery(f.project, f.base, request);
  const routed = await runQuery(f.project, f.base, request, { rollups: f.source });
  expect(routed.columns).toEqual(base.columns);
  expectSameRows(routed.rows, base.rows);
  return { routed, base };
}

describe('cumulative metrics at coarser grains from a rollup of days', () => {
  it('the rollup leaves out days whose window is empty (the case the scan must read as 0)', async () => {
    const held = await sqlRows(f.store, 'SELECT COUNT(*) AS n FROM activity_sparse WHERE metric__wau IS NOT NULL');
    // 731 days in 2024 and 2025; wau is empty on some of them (no event in the 7 days).
    expect(Number(held[0].n)).toBeLessThan(731);
  });

  it('mau by month is the calendar month’s distinct users (its last day’s window), as hand-written SQL says', async () => {
    const { routed } = await routedAndBase({ metrics: ['mau'], groupBy: ['metric_time.month'], from: '2024-01-01', to: '2025-12-31' });
    expect(routed.rollups?.served, routed.rollups?.reason).toBe(true);
    expect(routed.rollups?.rollups.map((r) => r.name)).toEqual(['activity_sparse']);
    const hand = await sqlRows(
      f.base,
      `SELECT CAST(m.month AS DATE) AS "metric_time.month", COUNT(DISTINCT e.user_id) AS mau
       FROM generate_series(TIMESTAMP '2024-01-01', TIMESTAMP '2025-12-01', INTERVAL 1 MONTH) AS m(month)
       LEFT JOIN events e ON e.occurred_at >= m.month AND e.occurred_at < m.month + INTERVAL 1 MONTH
       GROUP BY 1`,
    );
    expect(hand).toHaveLength(24);
    expectSameRows(routed.rows, hand);
  });

  it('wau by week and country: each week’s distinct users of the country, 0 where the week is empty but an earlier window reaches in', async () => {
    const request: RequestInput = { metrics: ['wau'], groupBy: ['metric_time.week', 'user.country'], from: '2024-01-01', to: '2025-12-28' };
    const { routed } = await routedAndBase(request);
    expect(routed.rollups?.rollups.map((r) => r.name)).toEqual(['by_country_daily']);
    // A country is in a week where some day's 7-day window holds one of its events (from the
    // Tuesday before to the Sunday); its value is the window on Sunday: the ISO week's users.
    const hand = await sqlRows(
      f.base,
      `SELECT CAST(w.week AS DATE) AS "metric_time.week", u.country AS "user.country",
              COUNT(DISTINCT CASE WHEN e.occurred_at >= w.week THEN e.user_id END) AS wau
       FROM generate_series(TIMESTAMP '2024-01-01', TIMESTAMP '2025-12-22', INTERVAL 7 DAY) AS w(week)
       JOIN events e ON e.occurred_at >= w.week - INTERVAL 6 DAY AND e.occurred_at < w.week + INTERVAL 7 DAY
       LEFT JOIN users u ON u.user_id = e.user_id
       GROUP BY 1, 2`,
    );
    const zeros = hand.filter((r) => Number(r.wau) === 0).length;
    expect(zeros).toBeGreaterThan(0);
    expectSameRows(routed.rows, hand);
  });

  it('average_dau by month averages every day of the month, a day without events counting 0', async () => {
    const { routed } = await routedAndBase({ metrics: ['average_dau'], groupBy: ['metric_time.month'], from: '2024-01-01', to: '2025-12-31' });
    expect(routed.rollups?.rollups.map((r) => r.name)).toEqual(['activity_sparse']);
    const hand = await sqlRows(
      f.base,
      `WITH days AS (SELECT d.day, COUNT(DISTINCT e.user_id) AS dau
                     FROM generate_series(TIMESTAMP '2024-01-01', TIMESTAMP '2025-12-31', INTERVAL 1 DAY) AS d(day)
                     LEFT JOIN events e ON e.occurred_at >= d.day AND e.occurred_at < d.day + INTERVAL 1 DAY GROUP BY 1)
       SELECT CAST(date_trunc('month', day) AS DATE) AS "metric_time.month", CAST(SUM(dau) AS DOUBLE) / COUNT(*) AS average_dau
       FROM days GROUP BY 1`,
    );
    // Some month holds a day without events, so the 0s are in the average.
    const empty = await sqlRows(f.base, `SELECT COUNT(*) AS n FROM generate_series(TIMESTAMP '2024-01-01', TIMESTAMP '2025-12-31', INTERVAL 1 DAY) AS d(day) WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.occurred_at >= d.day AND e.occurred_at < d.day + INTERVAL 1 DAY)`);
    expect(Number(empty[0].n)).toBeGreaterThan(0);
    expectSameRows(routed.rows, hand, { doubles: ['average_dau'] });
  });

  it('serves stickiness (average_dau / mau) by quarter, and days and months together', async () => {
    for (const request of [
      { metrics: ['stickiness'], groupBy: ['metric_time.quarter'], from: '2024-01-01', to: '2025-12-31' },
      { metrics: ['mau', 'wau'], groupBy: ['metric_time.day', 'metric_time.month', 'user.country'], from: '2025-02-01', to: '2025-04-30' },
      { metrics: ['wau'], groupBy: ['metric_time.month'], where: "metric_time.day < '2025-03-15'", from: '2025-01-01', to: '2025-06-30' },
    ] satisfies RequestInput[]) {
      const { routed } = await routedAndBase(request);
      expect(routed.rollups?.served, `${JSON.stringify(request)}: ${routed.rollups?.reason}`).toBe(true);
      expect(routed.rows.length).toBeGreaterThan(0);
    }
  });

  it('refuses a period whose needed days lie outside the covered range, and answers from the base tables', async () => {
    // The covered range ends 2026-01-01; January 2026's last day is not held.
    const { routed, base } = await routedAndBase({ metrics: ['mau'], groupBy: ['metric_time.month'], from: '2025-11-01', to: '2026-01-31' });
    expect(routed.rollups?.served).toBe(false);
    expect(routed.rollups?.reason).toMatch(/not within \[2024-01-01, 2026-01-01\)/);
    expect(routed.sql).toBe(base.sql);
  });
});

describe('semantics: metricflow', () => {
  it('is refused at a coarser grain: MetricFlow reads the first or last day that has rows', () => {
    const project = exampleWith(`
semantics: metricflow
rollups:
  - name: activity
    metrics: [mau]
`);
    const built: BuiltRollup = {
      name: 'activity',
      table: 'tally_rollups.activity',
      fingerprint: definitionFingerprint(project.graph, 'activity'),
      version: project.version,
      builtAt: '2025-06-01T00:00:00.000Z',
      grain: 'day',
      timeZone: 'UTC',
      dimensions: [],
      measures: [],
      finishedMetrics: ['mau'],
      coveredFrom: '2025-01-01',
      coveredTo: '2025-07-01',
      partitions: [],
    };
    const options = { rollups: { built: [built], fingerprint: (n: string) => definitionFingerprint(project.graph, n) } };
    const monthly = compileRequest(project.graph, { metrics: ['mau'], groupBy: ['metric_time.month'], from: '2025-01-01', to: '2025-03-31' }, options);
    expect(monthly.rollups?.served).toBe(false);
    expect(monthly.rollups?.reason).toMatch(/semantics: metricflow/);
    // At exactly its grain the stored values are the answer.
    const daily = compileRequest(project.graph, { metrics: ['mau'], groupBy: ['metric_time.day'], from: '2025-01-01', to: '2025-03-31' }, options);
    expect(daily.rollups?.served, daily.rollups?.reason).toBe(true);
  });
});
