/**
 * Test databases in the private cluster started by test/setup/postgres.ts: each test file gets
 * its own, optionally holding the fixture tables. The fixture is loaded into DuckDB (the SQL file
 * is written for it) and copied into Postgres column for column, so both engines hold exactly the
 * same rows whatever syntax fixtures/shop.sql uses.
 */
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { inject } from 'vitest';
import { PostgresEngine } from '../../src/index.js';
import { copyFromDuckDB } from '../../src/seed/postgres.js';
import { FIXTURE_SQL_URL } from './fixture-db.js';

let counter = 0;

/** Creates an empty database and returns its URL. */
export async function createDatabase(label: string): Promise<string> {
  const server = inject('postgresUrl');
  const name = `tally_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}_${counter++}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Copies every table of a DuckDB database built by `sql` into Postgres. */
export async function copyDuckDBSql(engine: PostgresEngine, sql: string): Promise<string[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(sql);
    const tables = (await connection.runAndReadAll('SELECT table_name FROM duckdb_tables() ORDER BY table_name')).getRowsJS().map((r) => String(r[0]));
    await copyFromDuckDB(connection, engine, tables);
    return tables;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** A new database holding the fixture tables (fixtures/shop.sql). */
export async function openFixturePostgres(label: string): Promise<PostgresEngine> {
  const engine = await PostgresEngine.open({ connectionString: await createDatabase(label) });
  await copyDuckDBSql(engine, readFileSync(FIXTURE_SQL_URL, 'utf8'));
  return engine;
}
