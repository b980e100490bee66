/**
 * Postgres as the engine, the embedded DuckDB file as the rollup store: the warehouse computes,
 * DuckDB serves. The stored parts equal hand-written GROUP BY run on Postgres, and equal, cell for
 * cell and type for type, the same rollup built from the same rows in DuckDB (sums beyond 2^63
 * stay whole, decimals keep their scale).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRollups, DuckDBEngine, openRollupStore, PostgresEngine, type RollupStore } from '../../src/index.js';
import { expectSameRows, type Row } from '../helpers/fixture-db.js';
import { copyDuckDBSql, createDatabase } from '../helpers/postgres-db.js';
import { EXPECTED, project, TABLE } from './readings-fixture.js';

let dir: string;
let postgres: PostgresEngine;
let duck: DuckDBEngine;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tally-rollup-pg-'));
  postgres = await PostgresEngine.open({ connectionString: await createDatabase('rollups') });
  await copyDuckDBSql(postgres, TABLE);
  duck = await DuckDBEngine.open({ path: ':memory:' });
  await duck.query(TABLE);
});

afterAll(async () => {
  await postgres?.close();
  await duck?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function rows(store: RollupStore): Promise<{ rows: Row[]; types: string[] }> {
  const result = await store.engine.query('SELECT * FROM tally_rollups.by_site');
  return { rows: result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c.name, r[i]]))), types: result.columns.map((c) => `${c.name} ${c.type}`) };
}

describe('a rollup built on Postgres into DuckDB', () => {
  it('equals hand-written SQL on Postgres and the same rollup built on DuckDB', async () => {
    const fromPg = await openRollupStore({ store: 'duckdb', path: path.join(dir, 'pg.duckdb'), schema: 'tally_rollups' });
    const fromDuck = await openRollupStore({ store: 'duckdb', path: path.join(dir, 'duck.duckdb'), schema: 'tally_rollups' });
    try {
      await buildRollups(project(), postgres, { store: fromPg });
      await buildRollups(project(), duck, { store: fromDuck });
      const pg = await rows(fromPg);
      const dk = await rows(fromDuck);
      // Postgres spells the hand-written query its own way: date_trunc gives a timestamp, TRUE is a boolean.
      const handWritten = await postgres.query(EXPECTED.replace('CAST(date_trunc(\'day\', read_at) AS DATE)', 'CAST(read_at AS DATE)'));
      const expected = handWritten.rows.map((r) => Object.fromEntries(handWritten.columns.map((c, i) => [c.name, r[i]])));
      expectSameRows(pg.rows, expected);
      expectSameRows(pg.rows, dk.rows);
      expect(pg.rows.find((r) => r.metric_time__day === '2025-01-05')?.m__big_total__sum).toBe(15000000000000000000n);
      expect(pg.types).toContain('m__amount_total__sum DECIMAL(38,2)');
      expect(pg.types).toContain('m__big_total__sum HUGEINT');
    } finally {
      await fromPg.close();
      await fromDuck.close();
    }
  });

  it('can be kept in a schema of the engine itself (rollups: { store: engine })', async () => {
    const store = await openRollupStore({ store: 'engine', schema: 'tally_rollups' }, postgres);
    try {
      const [record] = await buildRollups(project(), postgres, { store });
      expect(record.table).toBe('tally_rollups.by_site');
      expect(store.engine).toBe(postgres);
      const inPg = await rows(store);
      const handWritten = await postgres.query(EXPECTED.replace('CAST(date_trunc(\'day\', read_at) AS DATE)', 'CAST(read_at AS DATE)'));
      expectSameRows(inPg.rows, handWritten.rows.map((r) => Object.fromEntries(handWritten.columns.map((c, i) => [c.name, r[i]]))));
      expect((await store.list()).map((r) => r.name)).toEqual(['by_site']);
    } finally {
      await store.close();
    }
  });
});
