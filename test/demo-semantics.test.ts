/**
 * The example metrics on generated demo data (src/seed, a small event count) mean what they say
 * at month grain (issue 11 item 5): monthly DAU never exceeds the MAU at the month's end, MTD
 * revenue by month is the month's revenue, and stickiness stays at most 1. MAU by month is also
 * checked against hand-written SQL (its window is a calendar month: at a month's last day, the
 * month's distinct users), with and without a range.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine, loadProject, type Project, runQuery } from '../src/index.js';
import { seedDemoDatabase } from '../src/seed/demo.js';
import { expectSameRows, sqlRows } from './helpers/fixture-db.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let dir: string;
let engine: DuckDBEngine;
let project: Project;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tally-demo-semantics-'));
  const file = path.join(dir, 'demo.duckdb');
  await seedDemoDatabase(file, { events: 20_000, seed: 11 });
  engine = await DuckDBEngine.open({ path: file });
  project = loadProject(ROOT);
}, 120_000);

afterAll(async () => {
  await engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const byMonth = async (metrics: string[]): Promise<Record<string, unknown>[]> =>
  (await runQuery(project, engine, { metrics, groupBy: ['metric_time.month'], orderBy: ['metric_time.month'] })).rows;

describe('the demo by month', () => {
  it('MAU by month is the distinct users of the month', async () => {
    const expected = await sqlRows(
      engine,
      `WITH months AS (SELECT DISTINCT make_date(year(occurred_at), month(occurred_at), 1) AS m FROM events)
       SELECT m AS "metric_time.month", (SELECT COUNT(DISTINCT user_id) FROM events
         WHERE CAST(occurred_at AS DATE) >= m AND CAST(occurred_at AS DATE) <= last_day(m)) AS mau
       FROM months`,
    );
    const actual = await runQuery(project, engine, { metrics: ['mau'], groupBy: ['metric_time.month'], from: '2024-01-01', to: '2025-12-31' });
    expectSameRows(actual.rows, expected);
  });

  it('MAU by month without a range reads each month’s last day, also after the data (0 there, not an earlier day’s value)', async () => {
    // Without a range the days run to a month after the last event, then to the end of that month.
    const expected = await sqlRows(
      engine,
      `WITH span AS (SELECT MIN(CAST(occurred_at AS DATE)) AS lo, MAX(CAST(occurred_at AS DATE)) AS hi FROM events),
            months AS (SELECT CAST(g AS DATE) AS m FROM span, generate_series(CAST(make_date(year(lo), month(lo), 1) AS TIMESTAMP),
                         CAST(hi + INTERVAL 1 MONTH - INTERVAL 1 DAY AS TIMESTAMP), INTERVAL 1 MONTH) AS s(g))
       SELECT m AS "metric_time.month", (SELECT COUNT(DISTINCT user_id) FROM events
         WHERE CAST(occurred_at AS DATE) >= m AND CAST(occurred_at AS DATE) <= last_day(m)) AS mau
       FROM months`,
    );
    const actual = await runQuery(project, engine, { metrics: ['mau'], groupBy: ['metric_time.month'] });
    expectSameRows(actual.rows, expected);
    expect(Number(actual.rows[actual.rows.length - 1].mau), 'the month after the last event').toBe(0);
  });

  it('WAU by month for one user reads each month’s last day: 0 when its last 7 days are empty (the issue’s `-w "user = 8"`)', async () => {
    // A user whose last event is on or before the 20th: the old rule gave that month the value of
    // the last day with a row (1); the month's last day has an empty window (0).
    const picked = await sqlRows(engine, `SELECT user_id FROM events GROUP BY user_id HAVING day(MAX(occurred_at)) <= 20 AND COUNT(*) >= 3 ORDER BY user_id LIMIT 1`);
    expect(picked.length).toBe(1);
    const user = Number(picked[0].user_id);
    const expected = await sqlRows(
      engine,
      `WITH e AS (SELECT CAST(occurred_at AS DATE) AS day FROM events WHERE user_id = ${user}),
            months AS (SELECT CAST(g AS DATE) AS m FROM generate_series(CAST((SELECT make_date(year(MIN(day)), month(MIN(day)), 1) FROM e) AS TIMESTAMP),
                         CAST((SELECT MAX(day) + 6 FROM e) AS TIMESTAMP), INTERVAL 1 MONTH) AS s(g))
       SELECT m AS "metric_time.month", (SELECT COUNT(*) FROM (SELECT DISTINCT 1 FROM e WHERE day > last_day(m) - 7 AND day <= last_day(m))) AS wau
       FROM months`,
    );
    const actual = await runQuery(project, engine, { metrics: ['wau'], groupBy: ['metric_time.month'], where: `user = ${user}` });
    expectSameRows(actual.rows, expected);
    expect(Number(actual.rows[actual.rows.length - 1].wau), 'the month of the last event').toBe(0);
  });

  it('monthly DAU is at most the MAU at the month’s end', async () => {
    const rows = await byMonth(['dau', 'mau']);
    expect(rows.length).toBeGreaterThan(12);
    for (const r of rows) if (r.dau !== null && r.mau !== null) expect(Number(r.dau), String(r['metric_time.month'])).toBeLessThanOrEqual(Number(r.mau));
  });

  it('MTD revenue at month grain is the month’s revenue', async () => {
    const rows = await byMonth(['revenue', 'revenue_mtd']);
    expect(rows.length).toBeGreaterThan(12);
    for (const r of rows) expect(r.revenue_mtd, String(r['metric_time.month'])).toBe(r.revenue);
  });

  it('stickiness is at most 1, and above 0 in months with events', async () => {
    const rows = await byMonth(['stickiness', 'dau']);
    expect(rows.length).toBeGreaterThan(12);
    for (const r of rows) {
      expect(Number(r.stickiness), String(r['metric_time.month'])).toBeLessThanOrEqual(1);
      if (Number(r.dau) > 0) expect(Number(r.stickiness), String(r['metric_time.month'])).toBeGreaterThan(0);
    }
  });
});
