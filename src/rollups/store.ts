/**
 * The rollup store: the tables that hold built rollups and one build record per rollup
 * (BuiltRollup), kept in a schema (`tally_rollups` by default) of an embedded DuckDB file
 * (`.tally/rollups.duckdb`, the default: the warehouse computes, DuckDB serves, as Cube Store does
 * for Cube) or of the engine itself (`rollups: { store: engine }` in tally.yml). Statements here
 * are Tally's own fixed SQL; values are the engine's own answers, written as quoted literals cast
 * to the column's type so that nothing is rounded (big integers, decimals).
 */
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBEngine } from '../engines/duckdb.js';
import type { Cell, ColumnInfo, Engine } from '../engines/engine.js';
import { TallyError } from '../errors.js';
import type { RollupStoreConfig } from './store-config.js';
import type { BuiltRollup } from './types.js';

export { DEFAULT_ROLLUP_PATH, DEFAULT_ROLLUP_SCHEMA, type RollupStoreConfig } from './store-config.js';

/** A column of a rollup table: its name and its type in the store's SQL. */
export interface StoreColumn {
  name: string;
  type: string;
}

export interface RollupStore {
  /** The engine over the store's tables: run SQL that reads `BuiltRollup.table` here. */
  readonly engine: Engine;
  /** The schema holding the rollup tables and the build records. */
  readonly schema: string;
  /** Build records of every built rollup, by name. */
  list(): Promise<BuiltRollup[]>;
  /** The build record of one rollup, if it was built. */
  get(name: string): Promise<BuiltRollup | undefined>;
  /** The columns of a table in the store, or undefined when it does not exist. */
  tableColumns(table: string): Promise<StoreColumn[] | undefined>;
  /** Drops a rollup's table and its build record (a full rebuild starts here). */
  drop(name: string, table: string): Promise<void>;
  /** Creates a table with these columns (no keys: it is only ever replaced by partitions). */
  createTable(table: string, columns: StoreColumn[]): Promise<void>;
  /** Replaces the rows whose time column is in [start, end) by `rows`, in one transaction. */
  replacePartition(table: string, timeColumn: string, range: { start: string; end: string }, columns: StoreColumn[], rows: Cell[][]): Promise<void>;
  /** Keeps a rollup's build record (replacing the previous one). */
  saveRecord(record: BuiltRollup): Promise<void>;
  /** Closes the store's own connection (never the engine's, for a store in the engine). */
  close(): Promise<void>;
}

const NAME = /^[a-z_][a-z0-9_]*$/;

/**
 * Opens the store a config names: the DuckDB file (created when missing), or a schema of `engine`
 * (then required). The schema and the build records table are created when missing. `readOnly`
 * (an embedded file that exists, for readers: a server, `tally rollup status`, `tally query`)
 * opens the file so that any number of processes can read it at once; nothing is created, and a
 * file without build records lists none.
 */
export async function openRollupStore(config: RollupStoreConfig, engine?: Engine, options: { readOnly?: boolean } = {}): Promise<RollupStore> {
  if (!NAME.test(config.schema)) throw new TallyError('INVALID_REQUEST', `rollup schema '${config.schema}' is not a plain lower-case name`);
  let store: SqlRollupStore;
  if (config.store === 'duckdb') {
    if (config.path !== ':memory:') mkdirSync(dirname(config.path), { recursive: true });
    let own: DuckDBEngine;
    try {
      // One thread per statement: a rollup statement reads a few thousand rows, where DuckDB's
      // hand-offs between threads cost more than they share (~8% of a tile request's engine time
      // at 10M events, bench/rollups.ts); two connections still answer two requests at once.
      own = await DuckDBEngine.open({ path: config.path, threads: 1, connections: 2, ...(options.readOnly && config.path !== ':memory:' ? { readOnly: true, mustExist: true } : {}) });
    } catch (e) {
      throw new TallyError('ENGINE_UNAVAILABLE', `cannot open the rollup store '${config.path}' (${e instanceof TallyError ? e.message : 'unknown error'}); another process may hold it, retry shortly`);
    }
    store = new SqlRollupStore(own, config.schema, true);
  } else {
    if (!engine) throw new TallyError('INVALID_REQUEST', 'the rollup store is a schema of the engine (rollups: { store: engine } in tally.yml), so open it with the engine');
    if (engine.name === 'trino') throw new TallyError('UNSUPPORTED', 'rollups in a Trino schema are not supported yet; use the default DuckDB rollup store');
    store = new SqlRollupStore(engine, config.schema, false);
  }
  if (options.readOnly && config.store === 'duckdb' && config.path !== ':memory:') await store.lookUp();
  else await store.setUp();
  return store;
}

/** A store opened for a build: `publish` makes the build visible, `discard` drops it. */
export interface BuildingRollupStore extends RollupStore {
  /** Ends the build and makes it what readers see (then closed). */
  publish(): Promise<void>;
  /** Ends a failed build, leaving the store as it was (then closed). */
  discard(): Promise<void>;
}

/**
 * Opens the store for building. An embedded DuckDB file is built in a copy beside it and renamed
 * into place by `publish`, as `tally seed` replaces the demo data: a process that reads the store
 * meanwhile (a running server) keeps its consistent old file, never a half-built rollup, and the
 * file is never opened for writing by two processes. A store in the engine is written in place,
 * one partition per transaction.
 */
export async function openRollupStoreForBuild(config: RollupStoreConfig, engine?: Engine): Promise<BuildingRollupStore> {
  if (config.store !== 'duckdb' || config.path === ':memory:') {
    const store = await openRollupStore(config, engine);
    return Object.assign(store, { publish: () => store.close(), discard: () => store.close() });
  }
  mkdirSync(dirname(config.path), { recursive: true });
  const building = `${config.path}.building-${process.pid}`;
  rmSync(building, { force: true });
  rmSync(`${building}.wal`, { force: true });
  if (existsSync(config.path)) copyFileSync(config.path, building);
  // Writes not yet checkpointed into the file (a process that stopped without closing it) go along.
  if (existsSync(`${config.path}.wal`)) copyFileSync(`${config.path}.wal`, `${building}.wal`);
  const store = await openRollupStore({ ...config, path: building });
  return Object.assign(store, {
    publish: async () => {
      await store.close();
      // Closing checkpoints the copy, so it needs no log of its own; an old log must not replay over it.
      rmSync(`${config.path}.wal`, { force: true });
      renameSync(building, config.path);
    },
    discard: async () => {
      await store.close();
      rmSync(building, { force: true });
      rmSync(`${building}.wal`, { force: true });
    },
  });
}

class SqlRollupStore implements RollupStore {
  constructor(
    readonly engine: Engine,
    readonly schema: string,
    private readonly owned: boolean,
  ) {}

  private get records(): string {
    return `${this.schema}.rollup_builds`;
  }

  private literal(value: string): string {
    return this.engine.dialect.stringLiteral(value);
  }

  /** False when a store opened read-only has no build records table (nothing was ever built in it). */
  private hasRecords = true;

  async lookUp(): Promise<void> {
    const found = await this.engine.query(`SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ${this.literal(this.schema)} AND table_name = 'rollup_builds'`);
    this.hasRecords = Number(found.rows[0]?.[0] ?? 0) > 0;
  }

  async setUp(): Promise<void> {
    await this.engine.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
    await this.engine.query(`CREATE TABLE IF NOT EXISTS ${this.records} (name VARCHAR(200), record TEXT)`);
  }

  async list(): Promise<BuiltRollup[]> {
    if (!this.hasRecords) return [];
    const result = await this.engine.query(`SELECT record FROM ${this.records} ORDER BY name`);
    return this.withColumnTypes(result.rows.map((r) => JSON.parse(String(r[0])) as BuiltRollup));
  }

  async get(name: string): Promise<BuiltRollup | undefined> {
    if (!this.hasRecords) return undefined;
    const result = await this.engine.query(`SELECT record FROM ${this.records} WHERE name = ${this.literal(name)}`);
    return result.rows.length ? (await this.withColumnTypes([JSON.parse(String(result.rows[0][0])) as BuiltRollup]))[0] : undefined;
  }

  /** The records with their tables' column types as the store has them now (BuiltRollup.columnTypes). */
  private async withColumnTypes(records: BuiltRollup[]): Promise<BuiltRollup[]> {
    if (records.length === 0) return records;
    const result = await this.engine.query(`SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = ${this.literal(this.schema)}`);
    const byTable = new Map<string, Record<string, string>>();
    for (const [table, name, type] of result.rows) {
      const columns = byTable.get(String(table)) ?? {};
      columns[String(name)] = String(type);
      byTable.set(String(table), columns);
    }
    return records.map((r) => {
      const { columnTypes: _written, ...record } = r;
      const columns = byTable.get(r.table.split('.').pop() ?? '');
      return columns ? { ...record, columnTypes: columns } : record;
    });
  }

  async tableColumns(table: string): Promise<StoreColumn[] | undefined> {
    const [schema, name] = splitTable(table);
    const result = await this.engine.query(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ${this.literal(schema)} AND table_name = ${this.literal(name)} ORDER BY ordinal_position`,
    );
    return result.rows.length ? result.rows.map((r) => ({ name: String(r[0]), type: String(r[1]) })) : undefined;
  }

  async drop(name: string, table: string): Promise<void> {
    splitTable(table);
    await this.engine.query(`DELETE FROM ${this.records} WHERE name = ${this.literal(name)}`);
    await this.engine.query(`DROP TABLE IF EXISTS ${table}`);
  }

  async createTable(table: string, columns: StoreColumn[]): Promise<void> {
    splitTable(table);
    // Stored so that a scan reads fast where the engine's default storage would not (the
    // dialect's fastScanStorage): a rollup is read whole by every request it serves.
    const storage = (type: string): string => {
      const clause = this.engine.dialect.fastScanStorage?.(type);
      return clause ? ` ${clause}` : '';
    };
    await this.engine.query(`CREATE TABLE ${table} (${columns.map((c) => `${column(c.name)} ${c.type}${storage(c.type)}`).join(', ')})`);
  }

  async replacePartition(table: string, timeColumn: string, range: { start: string; end: string }, columns: StoreColumn[], rows: Cell[][]): Promise<void> {
    splitTable(table);
    const time = columns.find((c) => c.name === timeColumn);
    if (!time) throw new TallyError('INVALID_REQUEST', `rollup table ${table} has no column ${timeColumn}`);
    const bound = (v: string): string => `CAST(${this.literal(v)} AS ${time.type})`;
    const statements = [`DELETE FROM ${table} WHERE ${column(timeColumn)} >= ${bound(range.start)} AND ${column(timeColumn)} < ${bound(range.end)}`];
    const BATCH = 500;
    for (let i = 0; i < rows.length; i += BATCH) {
      const values = rows.slice(i, i + BATCH).map((row) => `(${row.map((cell, j) => this.value(cell, columns[j].type)).join(', ')})`);
      statements.push(`INSERT INTO ${table} (${columns.map((c) => column(c.name)).join(', ')}) VALUES ${values.join(', ')}`);
    }
    await this.engine.query(['BEGIN', ...statements, 'COMMIT'].join(';\n'));
  }

  /** A cell as a literal of the column's type: text cast to the type, so that no digit is lost. */
  private value(cell: Cell, type: string): string {
    if (cell === null) return `CAST(NULL AS ${type})`;
    return `CAST(${this.literal(typeof cell === 'boolean' ? (cell ? 'true' : 'false') : String(cell))} AS ${type})`;
  }

  async saveRecord(record: BuiltRollup): Promise<void> {
    const name = this.literal(record.name);
    await this.engine.query(['BEGIN', `DELETE FROM ${this.records} WHERE name = ${name}`, `INSERT INTO ${this.records} (name, record) VALUES (${name}, ${this.literal(JSON.stringify(record))})`, 'COMMIT'].join(';\n'));
  }

  async close(): Promise<void> {
    if (this.owned) await this.engine.close();
  }
}

/** `schema.name` of a rollup table, both plain names (so they never need quoting). */
function splitTable(table: string): [string, string] {
  const parts = table.split('.');
  if (parts.length !== 2 || !parts.every((p) => NAME.test(p))) throw new TallyError('INVALID_REQUEST', `'${table}' is not a rollup table name (schema.name)`);
  return [parts[0], parts[1]];
}

/** Rollup column names are Tally's own (`m__order_amount__sum`): plain names, checked anyway. */
function column(name: string): string {
  if (!NAME.test(name)) throw new TallyError('INVALID_REQUEST', `'${name}' is not a rollup column name`);
  return name;
}

/**
 * The store type of a column the engine answered with: the same type when the store is the
 * engine's kind of database; from Postgres into DuckDB, the DuckDB type that holds every value
 * exactly (a NUMERIC without a declared scale holds whole sums, or decimals of the scale seen).
 */
export function storeType(from: Engine['name'], to: Engine['name'], info: ColumnInfo, values: Cell[]): string {
  const type = info.type.toUpperCase();
  if (from === to) return type === 'UNKNOWN' ? 'VARCHAR' : info.type;
  if (to !== 'duckdb') throw new TallyError('UNSUPPORTED', `rollups from ${from} into a ${to} store are not supported; use the default DuckDB rollup store`);
  const numeric = /^NUMERIC(?:\((\d+),(\d+)\))?$/.exec(type);
  if (numeric) {
    if (numeric[1] !== undefined && Number(numeric[1]) <= 38) return `DECIMAL(${numeric[1]},${numeric[2]})`;
    const scale = Math.max(0, ...values.map((v) => (typeof v === 'string' && v.includes('.') ? v.length - v.indexOf('.') - 1 : 0)));
    return scale === 0 ? 'HUGEINT' : `DECIMAL(38,${Math.min(scale, 18)})`;
  }
  const map: Record<string, string> = { 'DOUBLE PRECISION': 'DOUBLE', REAL: 'FLOAT', TEXT: 'VARCHAR', CHAR: 'VARCHAR', NAME: 'VARCHAR', 'TIMESTAMP WITH TIME ZONE': 'TIMESTAMPTZ', UNKNOWN: 'VARCHAR' };
  return map[type] ?? type;
}
