/**
 * Loads the demo shop into Trino (the engine's catalog and schema, e.g. the `memory` connector):
 * the data is generated in an in-memory DuckDB by the same SQL as the DuckDB demo, so every
 * engine holds identical rows, then copied table by table.
 *
 * Trino's client protocol has no bulk load, so rows travel as INSERT … VALUES statements of typed
 * literals (DuckDB prints every value exactly as text: DECIMAL digits, 'YYYY-MM-DD HH:MM:SS'),
 * each statement kept well under Trino's default 1,000,000-character query limit. Each table is
 * built under a temporary name and renamed into place, so readers never see a half-loaded table.
 * Trino connectors such as `memory` enforce no keys, so PRIMARY KEY and NOT NULL are not carried.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { TrinoEngine } from '../engines/trino.js';
import { TallyError } from '../errors.js';
import { decimalHolds, trinoColumnType } from '../sql/dialects/column-types.js';
import { trino } from '../sql/dialects/trino.js';
import { buildSeedSql, DEFAULT_SEED, DEFAULT_SEED_EVENTS, DEMO_TABLES, runSeedSql, type SeedOptions } from './demo.js';

/** Characters of VALUES per INSERT statement. */
const STATEMENT_CHARS = 600_000;

interface Column {
  name: string;
  duckdbType: string;
  trinoType: string;
}

export interface TrinoSeedSummary {
  tables: Record<string, number>;
}

const ident = (name: string): string => trino.quoteIdentifier(name);

/**
 * A typed Trino literal for a value DuckDB printed as text. A value its Trino type cannot hold
 * (a HUGEINT of 39 digits in DECIMAL(38,0)) is refused with UNSUPPORTED rather than sent, so
 * nothing is rounded or half-loaded by the engine's own failure.
 */
function literal(table: string, column: Column, text: string | null): string {
  if (text === null) return 'NULL';
  const base = column.trinoType.replace(/\(.*$/, '');
  switch (base) {
    case 'BIGINT':
    case 'INTEGER':
    case 'SMALLINT':
    case 'TINYINT':
      return /^-?\d+$/.test(text) ? text : `CAST(${trino.stringLiteral(text)} AS ${column.trinoType})`;
    case 'DECIMAL':
      if (!decimalHolds(column.trinoType, text)) {
        throw new TallyError(
          'UNSUPPORTED',
          `${table}.${column.name} holds ${text}, which has more digits than Trino's ${column.trinoType} (from DuckDB ${column.duckdbType}; Trino's DECIMAL stops at 38 digits) can hold; cast the column to VARCHAR or DOUBLE in DuckDB before copying, or keep such values out`,
        );
      }
      return `DECIMAL ${trino.stringLiteral(text)}`;
    case 'DOUBLE':
    case 'REAL':
    case 'DATE':
      return `${base} ${trino.stringLiteral(text)}`;
    case 'TIMESTAMP':
      return `TIMESTAMP ${trino.stringLiteral(text)}`;
    case 'BOOLEAN':
      return text === 'true' ? 'true' : 'false';
    default:
      return trino.stringLiteral(text);
  }
}

async function describe(connection: DuckDBConnection, table: string): Promise<Column[]> {
  const reader = await connection.runAndReadAll(`DESCRIBE "${table.replace(/"/g, '""')}"`);
  return reader.getRowObjectsJS().map((r) => ({ name: String(r.column_name), duckdbType: String(r.column_type), trinoType: trinoColumnType(String(r.column_type)) }));
}

async function copyTable(connection: DuckDBConnection, engine: TrinoEngine, table: string, columns: Column[]): Promise<number> {
  const loading = `${table}__tally_loading`;
  await engine.query(`DROP TABLE IF EXISTS ${ident(loading)}`);
  await engine.query(`CREATE TABLE ${ident(loading)} (${columns.map((c) => `${ident(c.name)} ${c.trinoType}`).join(', ')})`);
  const head = `INSERT INTO ${ident(loading)} (${columns.map((c) => ident(c.name)).join(', ')}) VALUES\n`;
  const result = await connection.stream(`SELECT ${columns.map((c) => `CAST("${c.name.replace(/"/g, '""')}" AS VARCHAR)`).join(', ')} FROM "${table.replace(/"/g, '""')}"`);
  let values: string[] = [];
  let size = 0;
  let total = 0;
  const flush = async (): Promise<void> => {
    if (values.length === 0) return;
    await engine.query(head + values.join(',\n'));
    total += values.length;
    values = [];
    size = 0;
  };
  try {
    for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
      for (const row of chunk.getRows()) {
        const tuple = `(${row.map((v, i) => literal(table, columns[i], v === null ? null : String(v))).join(', ')})`;
        values.push(tuple);
        size += tuple.length + 2;
        if (size >= STATEMENT_CHARS) await flush();
      }
    }
    await flush();
  } catch (e) {
    // The table of that name is untouched; the half-filled copy goes.
    await engine.query(`DROP TABLE IF EXISTS ${ident(loading)}`).catch(() => undefined);
    throw e;
  }
  await engine.query(`DROP TABLE IF EXISTS ${ident(table)}`);
  await engine.query(`ALTER TABLE ${ident(loading)} RENAME TO ${ident(table)}`);
  return total;
}

/** Replaces `tables` in the engine's catalog and schema with copies of the DuckDB tables of the same names. */
export async function copyFromDuckDBToTrino(connection: DuckDBConnection, engine: TrinoEngine, tables: readonly string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of tables) counts[table] = await copyTable(connection, engine, table, await describe(connection, table));
  return counts;
}

/** Replaces the demo tables (users, events, orders, …) in Trino with freshly generated ones. */
export async function seedTrino(engine: TrinoEngine, options: SeedOptions = {}): Promise<TrinoSeedSummary> {
  const events = options.events ?? DEFAULT_SEED_EVENTS;
  const seed = options.seed ?? DEFAULT_SEED;
  const instance = await DuckDBInstance.create(':memory:', options.threads ? { threads: String(options.threads) } : {});
  const connection = await instance.connect();
  try {
    await runSeedSql(connection, buildSeedSql(events, seed), options.onProgress);
    return { tables: await copyFromDuckDBToTrino(connection, engine, DEMO_TABLES) };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
