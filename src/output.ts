/**
 * Writes results as JSON, CSV or a text table without rounding: big integers and DECIMALs are
 * written digit for digit (JSON numbers are arbitrary-precision text).
 */
import type { Cell } from './engines/engine.js';
import type { QueryResult } from './run.js';

const NUMERIC_TYPE = /^(DECIMAL|NUMERIC|HUGEINT|UHUGEINT|BIGINT|UBIGINT|INTEGER|SMALLINT|TINYINT|DOUBLE|FLOAT|REAL)/i;

function jsonCell(value: Cell, type: string): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'string' && NUMERIC_TYPE.test(type) && /^-?\d+(\.\d+)?$/.test(value)) return value;
  return JSON.stringify(value);
}

export function toJson(result: QueryResult): string {
  const types = new Map(result.columns.map((c) => [c.name, c.type]));
  const rows = result.rows.map(
    (row) => `{${Object.entries(row).map(([k, v]) => `${JSON.stringify(k)}:${jsonCell(v, types.get(k) ?? '')}`).join(',')}}`,
  );
  return (
    `{"columns":${JSON.stringify(result.columns.map((c) => ({ name: c.name, type: c.type })))},` +
    `"rows":[${rows.join(',')}],` +
    `"sql":${JSON.stringify(result.sql)},"version":${JSON.stringify(result.version)}` +
    (result.commit ? `,"commit":${JSON.stringify(result.commit)}` : '') +
    `,"lineage":${JSON.stringify(result.lineage)}` +
    (result.health ? `,"health":${JSON.stringify(result.health, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}` : '') +
    '}'
  );
}

function text(value: Cell): string {
  return value === null ? '' : String(value);
}

export function toCsv(result: QueryResult): string {
  const esc = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const names = result.columns.map((c) => c.name);
  const lines = [names.map(esc).join(',')];
  for (const row of result.rows) lines.push(names.map((n) => esc(text(row[n]))).join(','));
  return lines.join('\n') + '\n';
}

export function toTable(result: QueryResult): string {
  const names = result.columns.map((c) => c.name);
  const cells = result.rows.map((row) => names.map((n) => (row[n] === null ? 'NULL' : text(row[n]))));
  const widths = names.map((n, i) => Math.max(n.length, ...cells.map((r) => r[i].length)));
  const right = result.columns.map((c) => NUMERIC_TYPE.test(c.type));
  const fmt = (r: string[]): string => r.map((v, i) => (right[i] ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
  return [fmt(names), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(fmt), `(${cells.length} row${cells.length === 1 ? '' : 's'})`].join('\n') + '\n';
}
