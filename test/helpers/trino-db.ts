/**
 * Test schemas on the private Trino cluster of test/setup/trino.ts: each test file gets its own
 * schema in the `memory` catalog, optionally holding the fixture tables. The fixture is loaded into
 * DuckDB (fixtures/shop.sql is written for it) and copied into Trino column for column, so every
 * engine holds exactly the same rows.
 */
import { existsSync, readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { inject } from 'vitest';
import { TrinoEngine } from '../../src/index.js';
import { copyFromDuckDBToTrino } from '../../src/seed/trino.js';
import { FIXTURE_SQL_URL } from './fixture-db.js';

let counter = 0;

/** The cluster's URL once it answers with its worker joined; throws the start-up failure if there was one. */
export async function trinoReady(): Promise<string> {
  const url = inject('trinoUrl');
  if (!url) throw new Error('no Trino cluster was started for this run (test/setup/trino.ts starts one when Trino tests are selected)');
  const failureFile = inject('trinoFailureFile');
  const deadline = Date.now() + 420_000;
  for (;;) {
    if (existsSync(failureFile)) throw new Error(`the Trino cluster failed to start:\n${readFileSync(failureFile, 'utf8')}`);
    try {
      const info = await fetch(`${url}/v1/info`);
      const nodes = await fetch(`${url}/v1/node`, { headers: { 'X-Trino-User': 'tally' } });
      if (info.ok && nodes.ok && !((await info.json()) as { starting: boolean }).starting && ((await nodes.json()) as unknown[]).length >= 1) return url;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the Trino cluster at ${url} did not become ready`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Creates an empty schema in the memory catalog and returns its name. */
export async function createSchema(label: string): Promise<{ url: string; schema: string }> {
  const url = await trinoReady();
  const schema = `tally_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}_${counter++}`;
  const admin = await TrinoEngine.open({ server: url, catalog: 'memory', schema: 'default', user: 'tally' });
  await admin.query(`CREATE SCHEMA memory.${schema}`);
  return { url, schema };
}

/** Copies every table of a DuckDB database built by `sql` into the engine's schema. */
export async function copyDuckDBSqlToTrino(engine: TrinoEngine, sql: string): Promise<string[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(sql);
    const tables = (await connection.runAndReadAll('SELECT table_name FROM duckdb_tables() ORDER BY table_name')).getRowsJS().map((r) => String(r[0]));
    await copyFromDuckDBToTrino(connection, engine, tables);
    return tables;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** A new schema holding the fixture tables (fixtures/shop.sql). */
export async function openFixtureTrino(label: string): Promise<TrinoEngine> {
  const { url, schema } = await createSchema(label);
  const engine = await TrinoEngine.open({ server: url, catalog: 'memory', schema, user: 'tally' });
  await copyDuckDBSqlToTrino(engine, readFileSync(FIXTURE_SQL_URL, 'utf8'));
  return engine;
}
