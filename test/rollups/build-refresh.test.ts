/**
 * A small project of its own (readings with big integers and decimals, a table without keys so
 * that rows can be planted twice): stored parts equal hand-written GROUP BY exactly (sums beyond
 * 2^63 as bigint, decimals as exact strings); an incremental refresh after new rows rebuilds
 * only the changed, new and trailing partitions and then equals a full rebuild; a change to a
 * definition the rollup reads changes its fingerprint (and forces a full build), another does not.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuildEvent, buildRollups, definitionFingerprint, DuckDBEngine, openRollupStore, type RollupStore, rollupStatus } from '../../src/index.js';
import { expectSameRows, type Row, sqlRows } from '../helpers/fixture-db.js';
import { EXPECTED, MODELS, project, ROLLUPS, TABLE } from './readings-fixture.js';

let dir: string;
let engine: DuckDBEngine;
let store: RollupStore;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tally-rollup-refresh-'));
  engine = await DuckDBEngine.open({ path: ':memory:' });
  await engine.query(TABLE);
  store = await openRollupStore({ store: 'duckdb', path: path.join(dir, 'rollups.duckdb'), schema: 'tally_rollups' });
});

afterAll(async () => {
  await store?.close();
  await engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function table(s: RollupStore): Promise<Row[]> {
  const result = await s.engine.query('SELECT * FROM tally_rollups.by_site');
  return result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c.name, r[i]])));
}

function actions(events: BuildEvent[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of events) if (e.kind === 'partition') (out[e.action] ??= []).push(e.partition);
  return out;
}

describe('building and refreshing a rollup', () => {
  it('keeps exact numbers: sums beyond 2^63, decimals, averages as sum and count', async () => {
    const events: BuildEvent[] = [];
    await buildRollups(project(), engine, { store, onProgress: (e) => events.push(e) });
    expect(events[0]).toMatchObject({ kind: 'start', full: true, reason: 'never built', partitions: 4 });
    const rows = await table(store);
    expectSameRows(rows, await sqlRows(engine, EXPECTED));
    const big = rows.find((r) => r.metric_time__day === '2025-01-05');
    expect(big?.m__big_total__sum).toBe(15000000000000000000n);
    expect(rows.find((r) => r.reading__site === 'b' && r.metric_time__day === '2025-01-20')).toMatchObject({ m__big_total__sum: 9007199254740993n, m__amount_total__sum: '99999999.99' });
    const columns = await store.engine.query("SELECT data_type FROM information_schema.columns WHERE table_name = 'by_site' AND column_name = 'm__amount_total__sum'");
    expect(columns.rows[0][0]).toBe('DECIMAL(38,2)');
  });

  it('refreshes only changed, new and trailing partitions, and then equals a full rebuild', async () => {
    // A row planted twice in February (an old partition), and a new month.
    await engine.query(`INSERT INTO readings VALUES (5, '2025-02-11 09:00:00', 'b', 1, 1.10), (10, '2025-05-02 08:00:00', 'a', 6000000000000000000, 0.05)`);
    const events: BuildEvent[] = [];
    const [record] = await buildRollups(project(), engine, { store, onProgress: (e) => events.push(e) });
    expect(events[0]).toMatchObject({ kind: 'start', full: false });
    expect(actions(events)).toEqual({ keep: ['2025-01-01', '2025-03-01'], build: ['2025-02-01', '2025-04-01', '2025-05-01'] });
    expect(events.filter((e) => e.kind === 'partition' && e.action === 'build').map((e) => e.kind === 'partition' && e.reason)).toEqual(['source rows changed', 'one of the newest 2', 'new partition']);
    expect(record.coveredTo).toBe('2025-06-01');

    const refreshed = await table(store);
    expectSameRows(refreshed, await sqlRows(engine, EXPECTED));
    const fresh = await openRollupStore({ store: 'duckdb', path: path.join(dir, 'full.duckdb'), schema: 'tally_rollups' });
    try {
      await buildRollups(project(), engine, { store: fresh, full: true });
      expectSameRows(refreshed, await table(fresh));
    } finally {
      await fresh.close();
    }

    // Nothing changed: only the trailing partitions are rebuilt.
    const again: BuildEvent[] = [];
    await buildRollups(project(), engine, { store, onProgress: (e) => again.push(e) });
    expect(actions(again)).toEqual({ keep: ['2025-01-01', '2025-02-01', '2025-03-01'], build: ['2025-04-01', '2025-05-01'] });
  });

  it('drops a partition whose source rows are all gone, and the covered range shrinks', async () => {
    await engine.query(`DELETE FROM readings WHERE read_at >= TIMESTAMP '2025-05-01'`);
    const events: BuildEvent[] = [];
    const [record] = await buildRollups(project(), engine, { store, onProgress: (e) => events.push(e) });
    expect(actions(events)).toEqual({ keep: ['2025-01-01', '2025-02-01'], build: ['2025-03-01', '2025-04-01'], drop: ['2025-05-01'] });
    expect(record.coveredTo).toBe('2025-05-01');
    expect(record.partitions.map((p) => p.start)).toEqual(['2025-01-01', '2025-02-01', '2025-03-01', '2025-04-01']);
    expectSameRows(await table(store), await sqlRows(engine, EXPECTED));
  });

  it('a change to what the rollup reads changes its fingerprint and forces a full build; another change does not', async () => {
    const before = definitionFingerprint(project().graph, 'by_site');
    const unrelated = project(`${MODELS}  - { name: other, type: simple, measure: reading_count, description: not in the rollup }\n`);
    expect(definitionFingerprint(unrelated.graph, 'by_site')).toBe(before);
    const described = project(MODELS, ROLLUPS.replace('refresh: { trailing: 2 }', 'refresh: { trailing: 3 }\n    description: a new description'));
    expect(definitionFingerprint(described.graph, 'by_site')).toBe(before);

    const changed = project(MODELS.replace('{ name: amount_total, agg: sum, expr: amount }', '{ name: amount_total, agg: sum, expr: amount * 2 }'));
    const after = definitionFingerprint(changed.graph, 'by_site');
    expect(after).not.toBe(before);
    const [status] = await rollupStatus(changed, store);
    expect(status).toMatchObject({ name: 'by_site', stale: true, fingerprint: after });
    expect(status.reason).toContain('changed since it was built');
    expect((await rollupStatus(project(), store))[0]).toMatchObject({ stale: false, reason: 'current' });

    const events: BuildEvent[] = [];
    await buildRollups(changed, engine, { store, onProgress: (e) => events.push(e) });
    expect(events[0]).toMatchObject({ kind: 'start', full: true });
    expect(events[0].kind === 'start' && events[0].reason).toContain('the definitions changed');
    const rows = await table(store);
    expectSameRows(
      rows.map((r) => ({ d: r.metric_time__day, s: r.reading__site, v: r.m__amount_total__sum })),
      await sqlRows(engine, `SELECT CAST(read_at AS DATE) AS d, site AS s, SUM(amount * 2) AS v FROM readings GROUP BY 1, 2`),
    );
  });

  it("cuts days and partitions in the rollup's time zone", async () => {
    const seoul = project(MODELS, ROLLUPS.replace('name: by_site', 'name: by_site_seoul').replace('partition: month', 'partition: month\n    time_zone: Asia/Seoul'));
    const own = await openRollupStore({ store: 'duckdb', path: path.join(dir, 'seoul.duckdb'), schema: 'tally_rollups' });
    try {
      const [record] = await buildRollups(seoul, engine, { store: own });
      expect(record.timeZone).toBe('Asia/Seoul');
      const result = await own.engine.query('SELECT metric_time__day, reading__site, m__reading_count__count, m__amount_total__sum FROM tally_rollups.by_site_seoul');
      const actual = result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c.name, r[i]])));
      // Seoul is UTC+9 all year: 2025-03-31 23:00 UTC is April 1st there, in the next partition.
      expectSameRows(actual, await sqlRows(engine, `SELECT CAST(read_at + INTERVAL 9 HOUR AS DATE) AS metric_time__day, site AS reading__site, COUNT(id) AS m__reading_count__count, SUM(amount) AS m__amount_total__sum FROM readings GROUP BY 1, 2`));
      const april = record.partitions.find((p) => p.start === '2025-04-01');
      const aprilRows = await sqlRows(engine, `SELECT COUNT(*) AS n FROM (SELECT DISTINCT CAST(read_at + INTERVAL 9 HOUR AS DATE), site FROM readings WHERE read_at + INTERVAL 9 HOUR >= TIMESTAMP '2025-04-01' AND read_at + INTERVAL 9 HOUR < TIMESTAMP '2025-05-01') t`);
      expect(april?.rows).toBe(aprilRows[0].n);
    } finally {
      await own.close();
    }
  });
});
