/**
 * The state store: check runs and their results, with history, kept apart from the warehouse.
 * Embedded DuckDB in `.tally/state.duckdb` by default (opened for each operation and closed again,
 * so that `tally serve` and `tally check` can take turns with the file), or a schema of its own
 * in Postgres when tally.yml says `state: { type: postgres, url_env, schema }`. Never in the
 * warehouse's tables. Statements here are Tally's own fixed SQL with bound parameters; nothing a
 * user writes reaches them.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import pg from 'pg';
import type { Cell } from '../engines/engine.js';
import { TallyError } from '../errors.js';
import type { CheckKind, CheckRun, CheckStatus, Severity } from './types.js';

import type { StateConfig } from './state-config.js';

export { DEFAULT_STATE_PATH, type StateConfig } from './state-config.js';

/** A check's result as kept in the store. Counts are exact decimal strings. */
export interface StoredResult {
  runId: string;
  /** When the run started (ISO instant). */
  ranAt: string;
  id: string;
  model: string;
  kind: CheckKind;
  severity: Severity;
  derived: boolean;
  description: string;
  status: CheckStatus;
  failing: string;
  checked?: string;
  observed?: string;
  samples: Record<string, Cell>[];
  message: string;
}

export interface StateStore {
  saveRun(run: CheckRun): Promise<void>;
  /** The latest result of every check (from the most recent run that ran it). */
  lastResults(): Promise<StoredResult[]>;
  /** Results of one check (or all), newest first, at most `limit`. */
  history(checkId?: string, limit?: number): Promise<StoredResult[]>;
}

const COLUMNS = ['run_id', 'ran_at', 'check_id', 'model', 'kind', 'severity', 'derived', 'description', 'status', 'failing', 'checked', 'observed', 'samples', 'message'] as const;

/** Samples as JSON, big integers written as strings so that no digit is lost. */
function samplesJson(samples: Record<string, Cell>[]): string {
  return JSON.stringify(samples, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

function rowsOf(run: CheckRun): (string | boolean | null)[][] {
  return run.results.map((r) => [
    run.id, run.startedAt, r.id, r.model, r.kind, r.severity, r.derived, r.description, r.status,
    r.failing.toString(), r.checked?.toString() ?? null, r.observed ?? null, samplesJson(r.samples), r.message,
  ]);
}

function stored(row: Record<string, unknown>): StoredResult {
  const text = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));
  return {
    runId: String(row.run_id),
    ranAt: String(row.ran_at),
    id: String(row.check_id),
    model: String(row.model),
    kind: String(row.kind) as CheckKind,
    severity: String(row.severity) as Severity,
    derived: row.derived === true || row.derived === 'true',
    description: String(row.description),
    status: String(row.status) as CheckStatus,
    failing: String(row.failing),
    checked: text(row.checked),
    observed: text(row.observed),
    samples: JSON.parse(String(row.samples)) as Record<string, Cell>[],
    message: String(row.message),
  };
}

const LAST_RESULTS = (results: string) => `SELECT * FROM ${results} AS r WHERE r.ran_at = (SELECT max(x.ran_at) FROM ${results} AS x WHERE x.check_id = r.check_id) ORDER BY r.model, r.check_id`;

/** The store in an embedded DuckDB file. */
export class DuckDBStateStore implements StateStore {
  constructor(readonly path: string) {}

  /** One operation on a file at a time within this process (the server reads while scheduled runs write). */
  private static readonly queues = new Map<string, Promise<unknown>>();

  private with<T>(work: (run: (sql: string, values?: DuckDBValue[]) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T> {
    const before = DuckDBStateStore.queues.get(this.path) ?? Promise.resolve();
    const next = before.then(() => this.open(work));
    DuckDBStateStore.queues.set(this.path, next.catch(() => undefined));
    return next;
  }

  private async open<T>(work: (run: (sql: string, values?: DuckDBValue[]) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T> {
    if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(this.path);
    } catch (e) {
      throw new TallyError('ENGINE_UNAVAILABLE', `cannot open the check state file '${this.path}' (${(e as Error).message.split('\n')[0]}); another process may hold it, retry shortly`);
    }
    const connection = await instance.connect();
    try {
      const run = async (sql: string, values?: DuckDBValue[]): Promise<Record<string, unknown>[]> => (await connection.runAndReadAll(sql, values)).getRowObjectsJS() as Record<string, unknown>[];
      await run(`CREATE TABLE IF NOT EXISTS check_runs (run_id VARCHAR PRIMARY KEY, started_at VARCHAR, finished_at VARCHAR, version VARCHAR, engine VARCHAR)`);
      await run(`CREATE TABLE IF NOT EXISTS check_results (run_id VARCHAR, ran_at VARCHAR, check_id VARCHAR, model VARCHAR, kind VARCHAR, severity VARCHAR, derived BOOLEAN, description VARCHAR, status VARCHAR, failing VARCHAR, checked VARCHAR, observed VARCHAR, samples VARCHAR, message VARCHAR)`);
      return await work(run);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }

  saveRun(run: CheckRun): Promise<void> {
    return this.with(async (q) => {
      await q('BEGIN TRANSACTION');
      await q('INSERT INTO check_runs VALUES ($1, $2, $3, $4, $5)', [run.id, run.startedAt, run.finishedAt, run.version, run.engine]);
      for (const row of rowsOf(run)) await q(`INSERT INTO check_results (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`, row);
      await q('COMMIT');
    });
  }

  lastResults(): Promise<StoredResult[]> {
    // Reading never creates the file: no file, no results yet.
    if (this.path !== ':memory:' && !existsSync(this.path)) return Promise.resolve([]);
    return this.with(async (q) => (await q(LAST_RESULTS('check_results'))).map(stored));
  }

  history(checkId?: string, limit = 50): Promise<StoredResult[]> {
    if (this.path !== ':memory:' && !existsSync(this.path)) return Promise.resolve([]);
    return this.with(async (q) =>
      (await q(`SELECT * FROM check_results WHERE $1::VARCHAR IS NULL OR check_id = $1 ORDER BY ran_at DESC, check_id LIMIT ${Math.trunc(limit)}`, [checkId ?? null])).map(stored),
    );
  }
}

/** The store in a schema of its own in Postgres (created when missing). */
export class PostgresStateStore implements StateStore {
  private readonly pool: pg.Pool;
  private ready?: Promise<void>;
  constructor(
    connectionString: string | undefined,
    private readonly schema: string,
  ) {
    if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(schema)) throw new TallyError('INVALID_REQUEST', `state schema '${schema}' is not a plain name`);
    this.pool = new pg.Pool({ connectionString, max: 2 });
  }

  private table(name: string): string {
    return `"${this.schema}".${name}`;
  }

  private setUp(): Promise<void> {
    this.ready ??= (async () => {
      await this.pool.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await this.pool.query(`CREATE TABLE IF NOT EXISTS ${this.table('check_runs')} (run_id TEXT PRIMARY KEY, started_at TEXT, finished_at TEXT, version TEXT, engine TEXT)`);
      await this.pool.query(`CREATE TABLE IF NOT EXISTS ${this.table('check_results')} (run_id TEXT, ran_at TEXT, check_id TEXT, model TEXT, kind TEXT, severity TEXT, derived BOOLEAN, description TEXT, status TEXT, failing TEXT, checked TEXT, observed TEXT, samples TEXT, message TEXT)`);
    })();
    return this.ready;
  }

  async saveRun(run: CheckRun): Promise<void> {
    await this.setUp();
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${this.table('check_runs')} VALUES ($1, $2, $3, $4, $5)`, [run.id, run.startedAt, run.finishedAt, run.version, run.engine]);
      for (const row of rowsOf(run)) await client.query(`INSERT INTO ${this.table('check_results')} (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`, row);
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  async lastResults(): Promise<StoredResult[]> {
    await this.setUp();
    return (await this.pool.query(LAST_RESULTS(this.table('check_results')))).rows.map(stored);
  }

  async history(checkId?: string, limit = 50): Promise<StoredResult[]> {
    await this.setUp();
    const rows = (await this.pool.query(`SELECT * FROM ${this.table('check_results')} WHERE $1::text IS NULL OR check_id = $1 ORDER BY ran_at DESC, check_id LIMIT ${Math.trunc(limit)}`, [checkId ?? null])).rows;
    return rows.map(stored);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Opens the store a config names; Postgres reads its URL from the named variable. */
export function openStateStore(config: StateConfig, env: NodeJS.ProcessEnv = process.env): StateStore & { close?: () => Promise<void> } {
  if (config.type === 'duckdb') return new DuckDBStateStore(config.path);
  const url = env[config.urlEnv];
  if (!url) throw new TallyError('ENGINE_ERROR', `the environment variable ${config.urlEnv} (named by state.url_env in tally.yml) is not set; set it to postgres://user:password@host:port/database`);
  return new PostgresStateStore(url, config.schema);
}
