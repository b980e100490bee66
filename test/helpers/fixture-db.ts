/**
 * Test support: an in-memory DuckDB loaded with fixtures/shop.sql, a runner for hand-written SQL
 * that returns rows the way Tally does (same Cell conversion, through engine.query), and a row-set
 * comparator with exact equality except for the DOUBLE columns a test names.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { DuckDBEngine, type Cell, type Engine } from '../../src/index.js';

export type Row = Record<string, Cell>;

export const FIXTURE_SQL_URL = new URL('../../fixtures/shop.sql', import.meta.url);

/** Opens a fresh in-memory database holding the fixture tables. */
export async function openFixtureDb(): Promise<DuckDBEngine> {
  const engine = await DuckDBEngine.open({ path: ':memory:' });
  await engine.query(readFileSync(FIXTURE_SQL_URL, 'utf8'));
  return engine;
}

/** Runs hand-written SQL and returns one object per row, keyed by the column names. */
export async function sqlRows(engine: Engine, sql: string): Promise<Row[]> {
  const result = await engine.query(sql);
  const names = result.columns.map((c) => c.name);
  return result.rows.map((row) => Object.fromEntries(names.map((n, i) => [n, row[i]])));
}

export interface CompareOptions {
  /** Compare in order (for requests with an ORDER BY / LIMIT); otherwise as multisets. */
  ordered?: boolean;
  /** DOUBLE columns (ratios) compared with a relative tolerance of 1e-12; all else is exact. */
  doubles?: string[];
}

const REL_TOLERANCE = 1e-12;

function cellText(v: Cell): string {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return `bigint:${v.toString()}`;
  return `${typeof v}:${String(v)}`;
}

function cellsEqual(a: Cell, b: Cell, tolerant: boolean): boolean {
  if (tolerant && typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
    if (a === b) return true;
    return Math.abs(a - b) <= REL_TOLERANCE * Math.max(Math.abs(a), Math.abs(b));
  }
  // Exact: same JS type and value (a number 3 is not the decimal string '3.00').
  return typeof a === typeof b && a === b;
}

/** Sort key: exact columns as text first, then tolerant numbers by value (so close doubles pair up). */
function sortRows(rows: Row[], columns: string[], doubles: Set<string>): Row[] {
  const exact = columns.filter((c) => !doubles.has(c));
  const tol = columns.filter((c) => doubles.has(c));
  const key = (r: Row): string => exact.map((c) => cellText(r[c])).join('\u0001');
  return [...rows].sort((x, y) => {
    const kx = key(x);
    const ky = key(y);
    if (kx !== ky) return kx < ky ? -1 : 1;
    for (const c of tol) {
      const a = x[c];
      const b = y[c];
      const ta = cellText(a);
      const tb = cellText(b);
      if (typeof a === 'number' && typeof b === 'number') {
        if (a !== b) return a < b ? -1 : 1;
      } else if (ta !== tb) return ta < tb ? -1 : 1;
    }
    return 0;
  });
}

function show(rows: Row[]): string {
  return rows
    .map((r) => '  ' + Object.entries(r).map(([k, v]) => `${k}=${typeof v === 'bigint' ? `${v}n` : JSON.stringify(v)}`).join(', '))
    .join('\n');
}

/**
 * Asserts that two row sets are equal: same columns, same number of rows, and pairwise equal cells
 * (after sorting, unless `ordered`). Fails with both row sets printed.
 */
export function expectSameRows(actual: Row[], expected: Row[], options: CompareOptions = {}): void {
  const doubles = new Set(options.doubles ?? []);
  const columnsOf = (rows: Row[]): string[] => (rows.length ? Object.keys(rows[0]).sort() : []);
  const problems: string[] = [];
  const columns = columnsOf(expected.length ? expected : actual);
  for (const r of [...actual, ...expected]) {
    const cols = Object.keys(r).sort();
    if (cols.join(',') !== columns.join(',')) {
      problems.push(`column mismatch: [${cols.join(', ')}] vs [${columns.join(', ')}]`);
      break;
    }
  }
  if (actual.length !== expected.length) problems.push(`row count ${actual.length} (actual) vs ${expected.length} (expected)`);
  if (problems.length === 0) {
    const a = options.ordered ? actual : sortRows(actual, columns, doubles);
    const e = options.ordered ? expected : sortRows(expected, columns, doubles);
    for (let i = 0; i < a.length; i++) {
      const bad = columns.filter((c) => !cellsEqual(a[i][c], e[i][c], doubles.has(c)));
      if (bad.length) problems.push(`row ${i}: ${bad.map((c) => `${c}: ${cellText(a[i][c])} (actual) vs ${cellText(e[i][c])} (expected)`).join('; ')}`);
    }
  }
  if (problems.length) {
    const a = options.ordered ? actual : sortRows(actual, columns, doubles);
    const e = options.ordered ? expected : sortRows(expected, columns, doubles);
    expect.fail(`${problems.slice(0, 10).join('\n')}\nactual (${a.length} rows):\n${show(a)}\nexpected (${e.length} rows):\n${show(e)}`);
  }
}

/**
 * Hand-written wall-clock conversion of a naive UTC timestamp column, independent of Tally and of
 * DuckDB's ICU time-zone support: Seoul is UTC+9 all year; Los Angeles is UTC-7 until DST ends
 * at 2024-11-03 09:00 UTC, UTC-8 until DST starts at 2025-03-09 10:00 UTC, then UTC-7 (the
 * fixture only holds times from November 2024 to May 2025).
 */
export function localTime(column: string, zone: 'UTC' | 'Asia/Seoul' | 'America/Los_Angeles'): string {
  switch (zone) {
    case 'UTC':
      return column;
    case 'Asia/Seoul':
      return `(${column} + INTERVAL 9 HOUR)`;
    case 'America/Los_Angeles':
      return (
        `(CASE WHEN ${column} < TIMESTAMP '2024-11-03 09:00:00' THEN ${column} - INTERVAL 7 HOUR ` +
        `WHEN ${column} < TIMESTAMP '2025-03-09 10:00:00' THEN ${column} - INTERVAL 8 HOUR ` +
        `ELSE ${column} - INTERVAL 7 HOUR END)`
      );
  }
}
