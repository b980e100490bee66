/**
 * Compares two result tables the way MetricFlow's harness does (tests_metricflow/sql/
 * compare_data_table.py): the same column names, the same number of rows, rows sorted unless the
 * case checks the order, numbers equal within a relative tolerance of 1e-6. Dates and timestamps
 * are compared as points in time (a DATE equals the TIMESTAMP at its midnight).
 */
import type { Cell, ResultSet } from '../../src/index.js';

type Value = { kind: 'null' } | { kind: 'number'; n: number } | { kind: 'time'; t: string } | { kind: 'text'; s: string } | { kind: 'bool'; b: boolean };

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*)$/;
const TIME = /^(DATE|TIMESTAMP.*)$/;

function normalize(cell: Cell, type: string): Value {
  if (cell === null) return { kind: 'null' };
  if (typeof cell === 'boolean') return { kind: 'bool', b: cell };
  if (typeof cell === 'number' || typeof cell === 'bigint' || NUMERIC.test(type)) return { kind: 'number', n: Number(cell) };
  if (TIME.test(type)) {
    const s = String(cell);
    const full = s.length === 10 ? `${s} 00:00:00` : s;
    return { kind: 'time', t: full.replace(/\.0+$/, '') };
  }
  return { kind: 'text', s: String(cell) };
}

function sortKey(v: Value): string {
  switch (v.kind) {
    case 'null':
      return '0';
    case 'bool':
      return `1${v.b}`;
    case 'number':
      return `2${Number.isFinite(v.n) ? v.n.toPrecision(5) : String(v.n)}`;
    case 'time':
      return `3${v.t}`;
    case 'text':
      return `4${v.s}`;
  }
}

function same(a: Value, b: Value): boolean {
  if (a.kind === 'number' && b.kind === 'number') {
    if (Number.isNaN(a.n) && Number.isNaN(b.n)) return true;
    return a.n === b.n || Math.abs(a.n - b.n) <= 1e-6 * Math.max(Math.abs(a.n), Math.abs(b.n));
  }
  return sortKey(a) === sortKey(b) && JSON.stringify(a) === JSON.stringify(b);
}

function show(v: Value): string {
  switch (v.kind) {
    case 'null':
      return 'NULL';
    case 'bool':
      return String(v.b);
    case 'number':
      return String(v.n);
    case 'time':
      return v.t;
    case 'text':
      return JSON.stringify(v.s);
  }
}

export interface Table {
  columns: string[];
  types: string[];
  rows: Cell[][];
}

export function tableOf(result: ResultSet, names?: string[]): Table {
  return { columns: names ?? result.columns.map((c) => c.name), types: result.columns.map((c) => c.type), rows: result.rows };
}

/** Undefined when equal, else a description of the first difference. */
export function compareTables(actual: Table, expected: Table, options: { ordered: boolean; allowEmpty: boolean }): string | undefined {
  const expectedCols = expected.columns.map((c) => c.toLowerCase());
  const actualCols = actual.columns.map((c) => c.toLowerCase());
  if ([...expectedCols].sort().join(',') !== [...actualCols].sort().join(',')) {
    return `columns differ: expected [${expectedCols.join(', ')}], got [${actualCols.join(', ')}]`;
  }
  const order = expectedCols.map((c) => actualCols.indexOf(c));
  const rowsOf = (t: Table, index: number[]): Value[][] => t.rows.map((r) => index.map((i) => normalize(r[i], t.types[i])));
  let exp = rowsOf(expected, expectedCols.map((_, i) => i));
  let act = rowsOf(actual, order);
  if (!options.allowEmpty && exp.length === 0) return 'the check query returned no rows (and the case does not allow that)';
  if (exp.length !== act.length) return `expected ${exp.length} rows, got ${act.length}${sample(exp, act, expectedCols)}`;
  if (!options.ordered) {
    const byKey = (a: Value[], b: Value[]): number => {
      const ka = a.map(sortKey).join('\u0001');
      const kb = b.map(sortKey).join('\u0001');
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    };
    exp = [...exp].sort(byKey);
    act = [...act].sort(byKey);
  }
  for (let r = 0; r < exp.length; r++) {
    for (let c = 0; c < expectedCols.length; c++) {
      if (!same(exp[r][c], act[r][c])) {
        return `row ${r}, column ${expectedCols[c]}: expected ${show(exp[r][c])}, got ${show(act[r][c])}${sample(exp, act, expectedCols)}`;
      }
    }
  }
  return undefined;
}

function sample(exp: Value[][], act: Value[][], cols: string[]): string {
  const fmt = (rows: Value[][]): string => rows.slice(0, 4).map((r) => r.map(show).join(' | ')).join('; ');
  return ` [${cols.join(' | ')}] expected: ${fmt(exp)}${exp.length > 4 ? ' …' : ''} / got: ${fmt(act)}${act.length > 4 ? ' …' : ''}`;
}

/**
 * Each row as text, `a | b | c`, with the columns in the order given (matched without case) and
 * values shown as in the differences above: numbers as numbers, times as `YYYY-MM-DD hh:mm:ss`.
 */
export function rowTexts(t: Table, columns: string[]): string[] {
  const lower = t.columns.map((c) => c.toLowerCase());
  const index = columns.map((c) => {
    const i = lower.indexOf(c.toLowerCase());
    if (i < 0) throw new Error(`no column ${c} in [${t.columns.join(', ')}]`);
    return i;
  });
  return t.rows.map((r) => index.map((i) => show(normalize(r[i], t.types[i]))).join(' | '));
}

/** The rows of `a` that `b` lacks, as a multiset difference of row texts, sorted. */
export function rowsMissingFrom(a: string[], b: string[]): string[] {
  const left = [...b];
  const out: string[] = [];
  for (const row of a) {
    const at = left.indexOf(row);
    if (at >= 0) left.splice(at, 1);
    else out.push(row);
  }
  return out.sort();
}
