/**
 * Averages from rollups with Postgres as the engine. With the rollup store in a schema of
 * Postgres itself (`rollups: { store: engine }`) both paths divide the same exact NUMERIC sum by
 * the same count on the same engine, so decimal and integer averages are served and equal the
 * base answer bit for bit (and the exact sum over the count, computed in JavaScript from
 * hand-written SQL); a float average is refused. With the default DuckDB store, another engine
 * would convert the sum to a double: refused, and answered from Postgres.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Project, PostgresEngine, projectFromSources } from '../../src/index.js';
import type { RequestInput } from '../../src/query/request.js';
import { buildRollups } from '../../src/rollups/build.js';
import { rollupSourceOf } from '../../src/rollups/source.js';
import { openRollupStore, type RollupStore } from '../../src/rollups/store.js';
import { runQuery } from '../../src/run.js';
import { expectSameRows, sqlRows } from '../helpers/fixture-db.js';
import { copyDuckDBSql, createDatabase } from '../helpers/postgres-db.js';
import { DEFINITIONS, TABLE } from './average-fixture.js';

let dir: string;
let project: Project;
let postgres: PostgresEngine;
let inEngine: RollupStore;
let inDuckDB: RollupStore;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tally-rollup-avg-pg-'));
  project = projectFromSources([{ display: 'metrics/readings.yml', text: DEFINITIONS }]);
  postgres = await PostgresEngine.open({ connectionString: await createDatabase('rollup_average') });
  await copyDuckDBSql(postgres, TABLE);
  inEngine = await openRollupStore({ store: 'engine', schema: 'tally_rollups' }, postgres);
  await buildRollups(project, postgres, { store: inEngine });
  inDuckDB = await openRollupStore({ store: 'duckdb', path: path.join(dir, 'rollups.duckdb'), schema: 'tally_rollups' });
  await buildRollups(project, postgres, { store: inDuckDB });
}, 180_000);
afterAll(async () => {
  await inDuckDB?.close();
  await inEngine?.close();
  await postgres?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('averages from rollups on Postgres', () => {
  it('are served from a store in Postgres itself, equal to the base and to the exact sum over the count', async () => {
    const { source } = await rollupSourceOf(project, inEngine);
    expect(source.built[0].columnTypes?.m__amount_avg__sum).toBe('numeric');
    for (const request of [
      { metrics: ['amount_avg', 'big_avg'], groupBy: ['metric_time.month', 'reading.site'], from: '2025-01-01', to: '2025-12-31' },
      { metrics: ['amount_avg', 'amount_per_reading'], groupBy: ['metric_time.day'], from: '2025-03-01', to: '2025-05-31', where: "reading.kind = 'a'" },
    ] satisfies RequestInput[]) {
      const base = await runQuery(project, postgres, request);
      const routed = await runQuery(project, postgres, request, { rollups: source });
      expect(routed.rollups?.served, routed.rollups?.reason).toBe(true);
      expect(routed.columns).toEqual(base.columns);
      expectSameRows(routed.rows, base.rows);
      expect(routed.rows.length).toBeGreaterThan(0);
    }
    const routed = await runQuery(project, postgres, { metrics: ['amount_avg'], groupBy: ['metric_time.month', 'reading.site'], from: '2025-01-01', to: '2025-12-31' }, { rollups: source });
    const hand = await sqlRows(postgres, `SELECT CAST(date_trunc('month', read_at) AS DATE) AS month, site, CAST(SUM(amount) AS TEXT) AS total, COUNT(amount) AS n FROM readings GROUP BY 1, 2`);
    expect(hand).toHaveLength(routed.rows.length);
    for (const h of hand) {
      const row = routed.rows.find((r) => String(r['metric_time.month']) === String(h.month) && r['reading.site'] === h.site);
      expect(row?.amount_avg, `${String(h.month)} ${String(h.site)}`).toBe(Number(h.total) / Number(h.n));
    }
  });

  it('refuses a float average, and a store of another kind of engine; the answer is Postgres’s', async () => {
    const cases: { source: Awaited<ReturnType<typeof rollupSourceOf>>['source']; metric: string; reason: RegExp }[] = [
      { source: (await rollupSourceOf(project, inEngine)).source, metric: 'score_avg', reason: /the sum of 'score_avg' is a double precision: a float sum/ },
      { source: (await rollupSourceOf(project, inDuckDB)).source, metric: 'amount_avg', reason: /another kind of engine/ },
    ];
    for (const c of cases) {
      const request: RequestInput = { metrics: [c.metric], groupBy: ['metric_time.month'], from: '2025-01-01', to: '2025-12-31' };
      const base = await runQuery(project, postgres, request);
      const routed = await runQuery(project, postgres, request, { rollups: c.source });
      expect(routed.rollups?.served).toBe(false);
      expect(routed.rollups?.reason).toMatch(c.reason);
      expect(routed.sql).toBe(base.sql);
      expectSameRows(routed.rows, base.rows);
    }
  });
});
