/**
 * Building rollups over a small seeded demo database: the stored parts equal hand-written GROUP
 * BY queries run directly on DuckDB, and the finished metrics (distinct counts, cumulative
 * windows, offsets) equal the ordinary query by the same keys over the whole range, although
 * each partition (month) was computed on its own.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRollups, DuckDBEngine, loadProject, openRollupStore, type Project, type RollupStore, runQuery } from '../../src/index.js';
import { type BuiltRollup, finishedMetricColumn, finishedPresenceColumn, rollupColumnOf } from '../../src/rollups/types.js';
import { seedDemoDatabase } from '../../src/seed/demo.js';
import { expectSameRows, type Row, sqlRows } from '../helpers/fixture-db.js';
import { exampleWith, ROOT } from './helpers.js';

const ROLLUPS = `
rollups:
  - name: orders_daily
    metrics: [revenue, orders, average_order_value, revenue_growth_mom]
    dimensions: [order.status, user.country]
    grain: day
    partition: month
  - name: activity_daily
    metrics: [dau, mau, searches]
    dimensions: [user.country]
    grain: day
    partition: month
`;

let dir: string;
let engine: DuckDBEngine;
let store: RollupStore;
let project: Project;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tally-rollup-demo-'));
  await seedDemoDatabase(path.join(dir, 'demo.duckdb'), { events: 4_000, seed: 5 });
  engine = await DuckDBEngine.open({ path: path.join(dir, 'demo.duckdb') });
  store = await openRollupStore({ store: 'duckdb', path: path.join(dir, 'rollups.duckdb'), schema: 'tally_rollups' });
  project = exampleWith(ROLLUPS);
  await buildRollups(project, engine, { store });
}, 120_000);

afterAll(async () => {
  await store?.close();
  await engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The day before an exclusive end date. */
function lastDay(end: string | undefined): string {
  return new Date(Date.parse(`${end}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
}

/**
 * A finished metric in the rollup (its rows marked present) equals the metric asked alone by the
 * rollup's keys over the range it covers (a 30-day window reaches past the last event; those days
 * are not kept), row for row, including rows whose value is NULL.
 */
async function expectFinishedEqual(p: Project, s: RollupStore, record: BuiltRollup, metric: string): Promise<void> {
  const keys = [`metric_time.${record.grain}`, ...record.dimensions];
  const answer = await runQuery(p, engine, { metrics: [metric], groupBy: keys, from: record.coveredFrom, to: lastDay(record.coveredTo) });
  const expected = answer.rows.map((r) => Object.fromEntries([...keys.map((k) => [rollupColumnOf(k), r[k]]), [finishedMetricColumn(metric), r[metric]]]));
  const result = await s.engine.query(`SELECT ${[...keys.map(rollupColumnOf), finishedMetricColumn(metric)].join(', ')} FROM ${record.table} WHERE ${finishedPresenceColumn(metric)}`);
  const actual = result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c.name, r[i]])));
  expect(expected.length).toBeGreaterThan(0);
  expectSameRows(actual, expected, { doubles: [finishedMetricColumn(metric)] });
}

async function stored(table: string, columns: string): Promise<Row[]> {
  const result = await store.engine.query(`SELECT ${columns} FROM ${table}`);
  return result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c.name, r[i]])));
}

describe('a built rollup', () => {
  it('holds the measure parts that hand-written GROUP BY gives', async () => {
    const expected = await sqlRows(
      engine,
      `SELECT CAST(date_trunc('day', o.ordered_at) AS DATE) AS metric_time__day, o.status AS order__status, u.country AS user__country,
              SUM(o.amount) AS m__order_amount__sum, COUNT(o.order_id) AS m__order_count__count
         FROM orders o LEFT JOIN users u ON u.user_id = o.user_id
        GROUP BY 1, 2, 3`,
    );
    expect(expected.length).toBeGreaterThan(100);
    // Rows without a count hold only finished metrics (keys where no order was placed).
    const actual = (await stored('tally_rollups.orders_daily', 'metric_time__day, order__status, user__country, m__order_amount__sum, m__order_count__count')).filter((r) => r.m__order_count__count !== null);
    expectSameRows(actual, expected);
  });

  it('holds finished metrics equal to the ordinary query of each alone, over the covered range', async () => {
    for (const record of await store.list()) {
      for (const metric of record.finishedMetrics) await expectFinishedEqual(project, store, record, metric);
    }
  });

  it('records the build: fingerprint, version, covered range and one entry per month', async () => {
    const [record] = (await store.list()).filter((r) => r.name === 'orders_daily');
    expect(record).toMatchObject({ table: 'tally_rollups.orders_daily', version: project.graph.version, grain: 'day', timeZone: 'UTC', coveredTo: '2026-01-01' });
    expect(record.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    // Every month from the first order's to the last one's, also months without orders (offsets have values there).
    const months = await sqlRows(engine, `SELECT strftime(m, '%Y-%m-%d') AS start FROM (SELECT unnest(generate_series(date_trunc('month', min(ordered_at)), date_trunc('month', max(ordered_at)), INTERVAL 1 MONTH)) AS m FROM orders) ORDER BY 1`);
    expect(record.partitions.map((p) => p.start)).toEqual(months.map((m) => m.start));
    expect(record.coveredFrom).toBe(months[0].start);
    const stored = await store.engine.query('SELECT COUNT(*) FROM tally_rollups.orders_daily');
    expect(record.partitions.reduce((n, p) => n + p.rows, 0)).toBe(stored.rows[0][0]);
  });

  it('keeps 128-bit columns (DECIMAL(38,2) sums, HUGEINT values) uncompressed, which DuckDB scans fast', async () => {
    await store.engine.query('CHECKPOINT');
    const segments: Row[] = [];
    for (const table of ['orders_daily', 'activity_daily']) {
      segments.push(
        ...(await sqlRows(
          store.engine,
          `SELECT '${table}.' || c.column_name AS col, c.data_type AS type, s.compression AS compression
             FROM pragma_storage_info('tally_rollups.${table}') s JOIN information_schema.columns c ON c.column_name = s.column_name
            WHERE c.table_schema = 'tally_rollups' AND c.table_name = '${table}' AND s.segment_type <> 'VALIDITY'`,
        )),
      );
    }
    const wide = segments.filter((s) => s.type === 'HUGEINT' || /^DECIMAL\((19|[23]\d),/.test(String(s.type)));
    // order_amount's and searches' sums and mau's values are 128-bit (DuckDB widens SUM to HUGEINT / DECIMAL(38,s)).
    expect(new Set(wide.map((s) => s.col))).toEqual(new Set(['orders_daily.m__order_amount__sum', 'activity_daily.m__searches__sum', 'activity_daily.metric__mau']));
    expect(wide.filter((s) => s.compression !== 'Uncompressed' && s.compression !== 'Constant')).toEqual([]);
    // Narrower columns keep DuckDB's compression.
    expect(segments.some((s) => s.col === 'orders_daily.m__order_count__count' && s.compression === 'BitPacking')).toBe(true);
  });
});

describe('the example rollups (metrics/rollups.yml)', () => {
  it('keep every finished metric equal to the ordinary query by the same keys over the covered range', async () => {
    const example = loadProject(ROOT);
    expect([...example.graph.rollups.keys()]).toEqual(['orders_daily', 'activity_daily', 'conversion_monthly', 'conversion_monthly_by_plan']);
    const own = await openRollupStore({ store: 'duckdb', path: path.join(dir, 'example.duckdb'), schema: 'tally_rollups' });
    try {
      const records = await buildRollups(example, engine, { store: own });
      let compared = 0;
      for (const record of records) {
        for (const metric of record.finishedMetrics) {
          await expectFinishedEqual(example, own, record, metric);
          compared += 1;
        }
      }
      expect(compared).toBe(5);
      expect(records.find((r) => r.name === 'orders_daily')?.measures.map((m) => m.name)).toEqual(['order_amount', 'order_count', 'quantity_sold']);
    } finally {
      await own.close();
    }
  });
});
