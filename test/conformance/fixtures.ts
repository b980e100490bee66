/**
 * MetricFlow's fixture tables (tests_metricflow/fixtures/source_table_snapshots): every snapshot
 * loaded once into one DuckDB schema with its declared column types. Cells in the snapshots are
 * strings (or null); the declared type decides how DuckDB reads them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { DuckDBEngine } from '../../src/index.js';

const COLUMN_TYPES: Record<string, string> = {
  STRING: 'VARCHAR',
  TIME: 'TIMESTAMP',
  FLOAT: 'DOUBLE',
  INT: 'BIGINT',
  BOOLEAN: 'BOOLEAN',
};

interface TableSnapshot {
  table_name: string;
  column_definitions: { name: string; type: string }[];
  rows: (string | null)[][];
}

function snapshotFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...snapshotFiles(full));
    else if (/\.ya?ml$/.test(entry)) out.push(full);
  }
  return out;
}

const quote = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** Creates `schema` and one table per snapshot in it; returns the number of tables loaded. */
export async function loadSnapshots(engine: DuckDBEngine, snapshotDir: string, schema: string): Promise<number> {
  await engine.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  const files = snapshotFiles(snapshotDir);
  for (const file of files) {
    const { table_snapshot: t } = parse(readFileSync(file, 'utf8')) as { table_snapshot: TableSnapshot };
    const columns = t.column_definitions.map((c) => {
      const type = COLUMN_TYPES[c.type];
      if (!type) throw new Error(`${file}: unknown column type ${c.type}`);
      return { name: c.name, type };
    });
    const table = `${schema}.${t.table_name}`;
    await engine.query(`CREATE TABLE ${table} (${columns.map((c) => `"${c.name}" ${c.type}`).join(', ')})`);
    const BATCH = 2000;
    for (let i = 0; i < t.rows.length; i += BATCH) {
      const values = t.rows
        .slice(i, i + BATCH)
        .map((row) => `(${row.map((cell, j) => (cell === null ? 'NULL' : `CAST(${quote(String(cell))} AS ${columns[j].type})`)).join(', ')})`)
        .join(',\n');
      await engine.query(`INSERT INTO ${table} VALUES ${values}`);
    }
  }
  return files.length;
}
