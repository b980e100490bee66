/**
 * Test support for routing: a small seeded demo database (the base tables) and a separate
 * in-memory rollup store that holds rollup tables written by hand-written SQL over the base
 * tables (the column contract of src/rollups/types.ts), so that routing is checked independently
 * of the rollup build. The store holds no base tables: an answer the store gives can only have
 * come from rollups. Finished metrics (distinct counts, cumulative windows, conversions) are the
 * base answer of that metric alone at the rollup's grain and dimensions, as a build stores them;
 * parts of measures of several models sit side by side on the keys, NULL where a model has no rows;
 * finished metrics carry present__<name>; some sum measures are kept without their count (a rollup
 * built before the count was always kept), to check the fallback to a count of the same model.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileRequest } from '../../src/compile.js';
import { DuckDBEngine } from '../../src/engines/duckdb.js';
import { loadProject, type Project } from '../../src/project.js';
import type { RollupSource } from '../../src/run.js';
import type { BuiltRollup, MeasurePart } from '../../src/rollups/types.js';
import { seedDemoDatabase } from '../../src/seed/demo.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const COVERED = { from: '2024-01-01', to: '2026-01-01' };

/** A rollup table by hand: its build record, the SQL of each model's parts, and its finished metrics. */
interface HandRollup {
  name: string;
  dimensions: string[];
  /** Parts per model: SELECT of the keys (metric_time__day, dimension columns) and part columns from src.* tables. */
  parts: { sql: string; measures: { name: string; parts: MeasurePart[] }[] }[];
  finished: string[];
  /** Finished rows whose value is 0 are left out: a rollup that keeps only the days whose window holds rows. */
  sparse?: boolean;
}

/** Keys of a row: the day in UTC and the user's country and plan (from the user the row belongs to). */
const ORDER_KEYS = `CAST(date_trunc('day', o.ordered_at) AS DATE) AS metric_time__day, u.country AS user__country, u.plan AS user__plan, o.status AS order__status`;
const EVENT_KEYS = `CAST(date_trunc('day', e.occurred_at) AS DATE) AS metric_time__day, u.country AS user__country, u.plan AS user__plan`;

export const HAND_ROLLUPS: HandRollup[] = [
  {
    name: 'orders_daily',
    dimensions: ['user.country', 'user.plan', 'order.status'],
    parts: [
      {
        sql: `SELECT ${ORDER_KEYS}, SUM(o.amount) AS m__order_amount__sum, COUNT(o.amount) AS m__order_amount__count, COUNT(o.order_id) AS m__order_count__count
              FROM src.orders o LEFT JOIN src.users u ON u.user_id = o.user_id GROUP BY ALL`,
        measures: [
          { name: 'order_amount', parts: ['sum', 'count'] },
          { name: 'order_count', parts: ['count'] },
        ],
      },
      {
        // Order lines are timed by their order; a second model side by side in the same table.
        sql: `SELECT ${ORDER_KEYS}, SUM(i.quantity) AS m__quantity_sold__sum
              FROM src.order_items i JOIN src.orders o ON o.order_id = i.order_id LEFT JOIN src.users u ON u.user_id = o.user_id GROUP BY ALL`,
        measures: [{ name: 'quantity_sold', parts: ['sum'] }],
      },
    ],
    finished: [],
  },
  {
    name: 'events_daily',
    dimensions: ['user.country', 'user.plan'],
    parts: [
      {
        sql: `SELECT ${EVENT_KEYS},
                SUM(CASE WHEN e.event_type = 'search' THEN 1 ELSE 0 END) AS m__searches__sum,
                SUM(CASE WHEN e.event_type = 'search_click' THEN 1 ELSE 0 END) AS m__search_clicks__sum,
                COUNT(e.event_id) AS m__event_count__count
              FROM src.events e LEFT JOIN src.users u ON u.user_id = e.user_id GROUP BY ALL`,
        measures: [
          { name: 'searches', parts: ['sum'] },
          { name: 'search_clicks', parts: ['sum'] },
          { name: 'event_count', parts: ['count'] },
        ],
      },
      {
        sql: `SELECT CAST(date_trunc('day', u.signed_up_at) AS DATE) AS metric_time__day, u.country AS user__country, u.plan AS user__plan, COUNT(u.user_id) AS m__signups__count
              FROM src.users u GROUP BY ALL`,
        measures: [{ name: 'signups', parts: ['count'] }],
      },
    ],
    finished: ['dau', 'wau', 'mau', 'average_dau'],
  },
  {
    name: 'by_country_daily',
    dimensions: ['user.country'],
    parts: [],
    finished: ['dau', 'wau', 'mau', 'average_dau', 'revenue_mtd'],
  },
  {
    // No dimensions, and no row for a day whose window is empty: such a day must still read as 0.
    name: 'activity_sparse',
    dimensions: [],
    parts: [],
    finished: ['wau', 'mau', 'average_dau', 'revenue_mtd'],
    sparse: true,
  },
  {
    name: 'signups_by_plan_daily',
    dimensions: ['user.plan'],
    parts: [
      {
        sql: `SELECT CAST(date_trunc('day', u.signed_up_at) AS DATE) AS metric_time__day, u.plan AS user__plan, COUNT(u.user_id) AS m__signups__count
              FROM src.users u GROUP BY ALL`,
        measures: [{ name: 'signups', parts: ['count'] }],
      },
    ],
    finished: ['signup_to_paid_order_7d'],
  },
];

export interface RouteFixture {
  dir: string;
  project: Project;
  base: DuckDBEngine;
  store: DuckDBEngine;
  built: BuiltRollup[];
  /** The store with every rollup current. */
  source: RollupSource;
  close(): Promise<void>;
}

/** Seeds the demo data (`events` events) and writes the hand-written rollups into a fresh store. */
export async function openRouteFixture(events = 8_000): Promise<RouteFixture> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tally-rollup-route-'));
  const file = path.join(dir, 'demo.duckdb');
  await seedDemoDatabase(file, { events, seed: 7 });
  const project = loadProject(ROOT);
  const base = await DuckDBEngine.open({ path: file, readOnly: true });
  const store = await DuckDBEngine.open({ path: ':memory:' });
  await store.query(`ATTACH '${file.replace(/'/g, "''")}' AS src (READ_ONLY)`);
  const built: BuiltRollup[] = [];
  for (const r of HAND_ROLLUPS) {
    const keyColumns = ['metric_time__day', ...r.dimensions.map((d) => d.replace(/\./g, '__'))];
    const sources: { name: string; columns: string[] }[] = [];
    r.parts.forEach((p, i) => {
      sources.push({ name: `${r.name}_p${i}`, columns: p.measures.flatMap((m) => m.parts.map((part) => `m__${m.name}__${part}`)) });
    });
    // Each finished metric is the base answer of that metric alone, by the rollup's keys over the covered range.
    await store.query('USE src');
    for (const m of r.finished) {
      const sql = compileRequest(project.graph, { metrics: [m], groupBy: ['metric_time.day', ...r.dimensions], from: COVERED.from, to: '2025-12-31' }).sql;
      const renamed = `SELECT ${['"metric_time.day" AS metric_time__day', ...r.dimensions.map((d) => `"${d}" AS ${d.replace(/\./g, '__')}`), `"${m}" AS metric__${m}`, `TRUE AS present__${m}`].join(', ')} FROM (${sql})`;
      await store.query(`CREATE TABLE memory.main.${r.name}_f_${m} AS ${renamed}${r.sparse ? ` WHERE "${m}" <> 0` : ''}`);
      sources.push({ name: `${r.name}_f_${m}`, columns: [`metric__${m}`, `present__${m}`] });
    }
    await store.query('USE memory');
    for (const [i, p] of r.parts.entries()) await store.query(`CREATE TABLE ${r.name}_p${i} AS ${p.sql}`);
    const keys = sources.map((s) => `SELECT ${keyColumns.join(', ')} FROM ${s.name}`).join(' UNION ');
    const joins = sources.map((s) => `LEFT JOIN ${s.name} ON ${keyColumns.map((k) => `${s.name}.${k} IS NOT DISTINCT FROM k.${k}`).join(' AND ')}`).join('\n');
    const values = sources.flatMap((s) => s.columns.map((c) => `${s.name}.${c}`));
    await store.query(
      `CREATE TABLE ${r.name} AS SELECT ${keyColumns.map((k) => `k.${k}`).join(', ')}, ${values.join(', ')}
       FROM (${keys}) k ${joins}
       WHERE k.metric_time__day >= DATE '${COVERED.from}' AND k.metric_time__day < DATE '${COVERED.to}'`,
    );
    for (const s of sources) await store.query(`DROP TABLE ${s.name}`);
    built.push({
      name: r.name,
      table: r.name,
      fingerprint: `fp-${r.name}`,
      version: project.version,
      builtAt: '2026-01-01T00:00:00.000Z',
      grain: 'day',
      timeZone: 'UTC',
      dimensions: r.dimensions,
      measures: r.parts.flatMap((p) => p.measures),
      finishedMetrics: r.finished,
      coveredFrom: COVERED.from,
      coveredTo: COVERED.to,
      partitions: [],
    });
  }
  await store.query('DETACH src');
  // The column types, as a store reports them with its build records (RollupStore.list).
  const types = await store.query("SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'main'");
  for (const b of built) b.columnTypes = Object.fromEntries(types.rows.filter((r) => r[0] === b.table).map((r) => [String(r[1]), String(r[2])]));
  const source: RollupSource = { engine: store, built, fingerprint: (name) => built.find((b) => b.name === name)?.fingerprint };
  return {
    dir,
    project,
    base,
    store,
    built,
    source,
    close: async () => {
      await store.close();
      await base.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
