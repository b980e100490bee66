/**
 * Loads the demo shop into Postgres: the data is generated in an in-memory DuckDB by the same SQL
 * as the DuckDB demo (so both engines hold identical rows), then copied table by table with
 * column types (src/sql/dialects/column-types.ts), NOT NULL and primary keys carried over. Values travel as text and are cast by
 * Postgres, so DECIMALs and timestamps arrive exactly; each batch is one INSERT … SELECT FROM
 * unnest($1::type[], …), a handful of parameters however many rows.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { Execute, PostgresEngine } from '../engines/postgres.js';
import { postgresColumnType } from '../sql/dialects/column-types.js';
import { buildSeedSql, runSeedSql, DEFAULT_SEED, DEFAULT_SEED_EVENTS, DEMO_TABLES, type SeedOptions } from './demo.js';

const BATCH_ROWS = 20_000;

interface Column {
  name: string;
  duckdbType: string;
  pgType: string;
  notNull: boolean;
  primaryKey: boolean;
}

export interface PostgresSeedSummary {
  tables: Record<string, number>;
}

const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

async function describe(connection: DuckDBConnection, table: string): Promise<Column[]> {
  const reader = await connection.runAndReadAll(`DESCRIBE ${ident(table)}`);
  return reader.getRowObjectsJS().map((r) => ({
    name: String(r.column_name),
    duckdbType: String(r.column_type),
    pgType: postgresColumnType(String(r.column_type)),
    notNull: r.null === 'NO',
    primaryKey: r.key === 'PRI',
  }));
}

async function copyTable(connection: DuckDBConnection, execute: Execute, table: string, columns: Column[]): Promise<number> {
  const definitions = columns.map((c) => `${ident(c.name)} ${c.pgType}${c.notNull ? ' NOT NULL' : ''}`);
  await execute(`CREATE TABLE ${ident(table)} (${definitions.join(', ')})`);
  const insert =
    `INSERT INTO ${ident(table)} (${columns.map((c) => ident(c.name)).join(', ')}) ` +
    `SELECT * FROM unnest(${columns.map((c, i) => `$${i + 1}::${c.pgType.replace(/\(.*\)$/, '')}[]`).join(', ')})`;
  // DuckDB prints every value exactly as text (DECIMAL digits, 'YYYY-MM-DD HH:MM:SS').
  const result = await connection.stream(`SELECT ${columns.map((c) => `CAST(${ident(c.name)} AS VARCHAR)`).join(', ')} FROM ${ident(table)}`);
  let batch: (string | null)[][] = columns.map(() => []);
  let pending = 0;
  let total = 0;
  const flush = async (): Promise<void> => {
    if (pending === 0) return;
    await execute(insert, batch);
    total += pending;
    batch = columns.map(() => []);
    pending = 0;
  };
  for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
    for (const row of chunk.getRows()) {
      row.forEach((v, i) => batch[i].push(v === null ? null : String(v)));
      pending++;
    }
    if (pending >= BATCH_ROWS) await flush();
  }
  await flush();
  const keys = columns.filter((c) => c.primaryKey);
  if (keys.length) await execute(`ALTER TABLE ${ident(table)} ADD PRIMARY KEY (${keys.map((c) => ident(c.name)).join(', ')})`);
  return total;
}

/**
 * Replaces `tables` in the engine's first search_path schema with copies of the DuckDB tables of
 * the same names, in one transaction: readers see the old tables or the new ones, never a mix.
 */
export async function copyFromDuckDB(connection: DuckDBConnection, engine: PostgresEngine, tables: readonly string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  await engine.transaction(async (execute) => {
    for (const table of [...tables].reverse()) await execute(`DROP TABLE IF EXISTS ${ident(table)}`);
    for (const table of tables) counts[table] = await copyTable(connection, execute, table, await describe(connection, table));
  });
  for (const table of tables) await engine.query(`ANALYZE ${ident(table)}`);
  return counts;
}

/** Replaces the demo tables (users, events, orders, …) in Postgres with freshly generated ones. */
export async function seedPostgres(engine: PostgresEngine, options: SeedOptions = {}): Promise<PostgresSeedSummary> {
  const events = options.events ?? DEFAULT_SEED_EVENTS;
  const seed = options.seed ?? DEFAULT_SEED;
  const instance = await DuckDBInstance.create(':memory:', options.threads ? { threads: String(options.threads) } : {});
  const connection = await instance.connect();
  try {
    await runSeedSql(connection, buildSeedSql(events, seed), options.onProgress);
    return { tables: await copyFromDuckDB(connection, engine, DEMO_TABLES) };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
