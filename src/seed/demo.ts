/**
 * Deterministic demo-data generator for the Tally example project: an online
 * shop with an app (users, app events, orders, order items, products and A/B
 * test assignments). This module writes the database file and reports progress;
 * the tables' DDL is in demo-tables.ts and the generating SQL in demo-generators.ts.
 *
 * Everything is generated with set-based SQL inside DuckDB. Every "random"
 * number is derived from a hash of (row index, seed, salt), never from random(),
 * so the same (events, seed) pair yields identical table contents (including
 * physical row order) on every run and for any thread count.
 *
 * Calendar: all timestamps fall in [2024-01-01 00:00:00, 2026-01-01 00:00:00),
 * stored as naive TIMESTAMP values meaning UTC. Internally all times are
 * integer seconds since 2024-01-01 00:00:00 UTC ("t0"), converted with
 * make_timestamp() at the end.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DEFAULT_SEED, DEFAULT_SEED_EVENTS } from '../defaults.js';
import { DEMO_TABLES } from './demo-tables.js';
import { buildSeedSql, sqlString } from './demo-generators.js';

export { buildSeedSql } from './demo-generators.js';
export { DEMO_DATA_END_EXCLUSIVE, DEMO_DATA_START, DEMO_TABLES, EVENT_TYPES, ORDER_STATUSES } from './demo-tables.js';

export interface SeedOptions {
  /** Number of rows in `events` (default 1_000_000). Other tables scale with it. */
  events?: number;
  /** Seed for the hash-based pseudo-randomness (default 42). */
  seed?: number;
  /**
   * DuckDB worker threads. Only affects speed, never the output; exposed so
   * tests and benchmarks can check that. Defaults to DuckDB's own default.
   */
  threads?: number;
  /**
   * Called after each generating step: `done` of `total` steps, and the table or helper the
   * step built (e.g. 'events'). For progress display only; it never changes the data.
   */
  onProgress?: (done: number, total: number, step: string) => void;
}

/**
 * What a generating statement builds, as a person reads it in the progress line: the demo table
 * (also while its staging table is filled, its rows inserted or its keys added), 'helpers' for the
 * random-draw macros, 'cleanup' for dropping staging tables, else 'setup'.
 */
export function seedStepName(statement: string): string {
  if (/^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP\s+)?MACRO\b/i.test(statement)) return 'helpers';
  if (/^\s*DROP\s+TABLE\b/i.test(statement)) return 'cleanup';
  const m = /^\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP\s+)?TABLE|INSERT\s+INTO|ALTER\s+TABLE)\s+(\w+)/i.exec(statement);
  return m ? m[1].replace(/^stg_/, '') : 'setup';
}

/** Runs the generating statements in order, reporting each step to `onProgress`. */
export async function runSeedSql(connection: DuckDBConnection, statements: string[], onProgress?: SeedOptions['onProgress']): Promise<void> {
  for (const [i, statement] of statements.entries()) {
    await connection.run(statement);
    onProgress?.(i + 1, statements.length, seedStepName(statement));
  }
}

export interface SeedSummary {
  /** The database file that was written. */
  file: string;
  /** Row count per table. */
  tables: Record<string, number>;
}

export { DEFAULT_SEED, DEFAULT_SEED_EVENTS };

function checkCount(name: string, value: number, min: number): number {
  if (!Number.isFinite(value) || !Number.isInteger(value) || value < min) {
    throw new RangeError(`seedDemoDatabase: ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

async function countRows(connection: DuckDBConnection): Promise<Record<string, number>> {
  const sql = DEMO_TABLES.map((t) => `SELECT ${sqlString(t)} AS t, count(*)::BIGINT AS n FROM ${t}`).join(' UNION ALL ');
  const reader = await connection.runAndReadAll(sql);
  const counts = new Map<string, number>();
  for (const row of reader.getRowsJS()) {
    counts.set(String(row[0]), Number(row[1]));
  }
  const tables: Record<string, number> = {};
  for (const t of DEMO_TABLES) tables[t] = counts.get(t) ?? 0;
  return tables;
}

async function removeIfExists(file: string): Promise<void> {
  await rm(file, { force: true });
}

/**
 * Create (or overwrite) a DuckDB database file with the demo shop data.
 * The database is written to `file + '.tmp'` and renamed into place at the end.
 */
export async function seedDemoDatabase(file: string, options: SeedOptions = {}): Promise<SeedSummary> {
  const events = checkCount('events', options.events ?? DEFAULT_SEED_EVENTS, 1);
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`seedDemoDatabase: seed must be a safe integer, got ${String(seed)}`);
  }
  const config: Record<string, string> = {};
  if (options.threads !== undefined) {
    config.threads = String(checkCount('threads', options.threads, 1));
  }

  const target = path.resolve(file);
  const tmp = `${target}.tmp`;
  await mkdir(path.dirname(target), { recursive: true });
  await removeIfExists(tmp);
  await removeIfExists(`${tmp}.wal`);

  const instance = await DuckDBInstance.create(tmp, config);
  let tables: Record<string, number>;
  try {
    const connection = await instance.connect();
    try {
      await runSeedSql(connection, buildSeedSql(events, seed), options.onProgress);
      tables = await countRows(connection);
      if (tables.events !== events) {
        throw new Error(`seedDemoDatabase: generated ${tables.events} events instead of ${events}`);
      }
      await connection.run('CHECKPOINT');
    } finally {
      connection.closeSync();
    }
  } catch (error) {
    instance.closeSync();
    await removeIfExists(tmp);
    await removeIfExists(`${tmp}.wal`);
    throw error;
  }
  instance.closeSync();

  // A stale WAL next to the target would be replayed onto the new file.
  await removeIfExists(`${target}.wal`);
  await removeIfExists(`${tmp}.wal`);
  await rename(tmp, target);
  return { file: target, tables };
}
