/**
 * Writes results as JSON, CSV or a text table.
 *
 * The rule for numbers, in every output: integers (counts, sums of integers; BIGINT or HUGEINT
 * alike) are whole numbers written digit for digit at any size (the library gives a number up
 * to 2^53 and a bigint beyond; JSON writes both as JSON numbers, which are arbitrary-precision
 * text). DECIMAL sums are exact decimal strings in the library and digits in JSON. JSON, and
 * CSV unless asked for `formatted`, keep full precision. A table, and CSV with `formatted`, show
 * each metric in its display format (`format:` and `decimals:` in its definition: 46.1%,
 * €1,234.50); values without one show without floating-point noise (113.0599, not
 * 113.05989999999998), exact values unchanged.
 */
import type { MetricFormatDef } from './definitions/schema.js';
import type { Cell } from './engines/engine.js';
import type { QueryResult } from './run.js';

/** How a metric is displayed: from its definition's `format` and `decimals`. */
export interface DisplayFormat {
  kind: 'number' | 'percent' | 'currency';
  /** ISO 4217 code, for kind 'currency'. */
  currency?: string;
  /** Digits after the decimal point; undefined: the kind's default (percent 1, currency its own, number up to 2). */
  decimals?: number;
}

/** The display format a definition asks for; undefined when it names none. */
export function displayFormatOf(def: { format?: MetricFormatDef; decimals?: number }): DisplayFormat | undefined {
  const { format, decimals } = def;
  if (format === undefined) return decimals === undefined ? undefined : { kind: 'number', decimals };
  if (typeof format === 'string') return { kind: format, decimals };
  return { kind: 'currency', currency: format.currency, decimals };
}

/** Display options: formats by column name (metrics), and whether CSV applies them. */
export interface OutputOptions {
  formats?: ReadonlyMap<string, DisplayFormat>;
  /** CSV only: write values in their display format instead of full precision. */
  formatted?: boolean;
}

const formatters = new Map<string, Intl.NumberFormat>();
function formatter(f: DisplayFormat): Intl.NumberFormat {
  const key = `${f.kind}:${f.currency ?? ''}:${f.decimals ?? ''}`;
  let nf = formatters.get(key);
  if (!nf) {
    const digits = f.decimals ?? (f.kind === 'percent' ? 1 : undefined);
    // A fixed locale: the same bytes on every machine. Intl formats bigints and decimal strings exactly.
    nf = new Intl.NumberFormat('en-US', {
      style: f.kind === 'number' ? 'decimal' : f.kind,
      ...(f.currency ? { currency: f.currency } : {}),
      ...(digits !== undefined ? { minimumFractionDigits: digits, maximumFractionDigits: digits } : f.kind === 'number' ? { maximumFractionDigits: 2 } : {}),
    });
    formatters.set(key, nf);
  }
  return nf;
}

/** A value as shown: in `format` when given and numeric, else as it is (doubles without noise). */
export function displayValue(value: Cell, format?: DisplayFormat): string {
  if (value === null) return '';
  const numeric = typeof value === 'number' || typeof value === 'bigint' || (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value));
  if (format && numeric) {
    if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
    // Intl reads a decimal string exactly (Intl.NumberFormat v3); its type lacks the overload.
    return formatter(format).format(value as number | bigint);
  }
  if (typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value)) return String(Number(value.toPrecision(12)));
  return String(value);
}

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
    // Which rollups answered (name, builtAt, version, fingerprint), or why none did.
    (result.rollups ? `,"rollups":${JSON.stringify(result.rollups)}` : '') +
    '}'
  );
}

function text(value: Cell): string {
  return value === null ? '' : String(value);
}

/**
 * CSV: full precision (as JSON) unless `formatted`, then each metric in its display format
 * (values with a thousands separator are quoted).
 */
export function toCsv(result: QueryResult, options: OutputOptions = {}): string {
  const esc = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const names = result.columns.map((c) => c.name);
  const cell = (n: string, v: Cell): string => (options.formatted ? displayValue(v, options.formats?.get(n)) : text(v));
  const lines = [names.map(esc).join(',')];
  for (const row of result.rows) lines.push(names.map((n) => esc(cell(n, row[n]))).join(','));
  return lines.join('\n') + '\n';
}

/** A text table for people: metrics in their display format, other numbers without float noise. */
export function toTable(result: QueryResult, options: OutputOptions = {}): string {
  const names = result.columns.map((c) => c.name);
  const cells = result.rows.map((row) => names.map((n) => (row[n] === null ? 'NULL' : displayValue(row[n], options.formats?.get(n)))));
  const widths = names.map((n, i) => Math.max(n.length, ...cells.map((r) => r[i].length)));
  const right = result.columns.map((c) => NUMERIC_TYPE.test(c.type));
  const fmt = (r: string[]): string => r.map((v, i) => (right[i] ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
  return [fmt(names), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(fmt), `(${cells.length} row${cells.length === 1 ? '' : 's'})`].join('\n') + '\n';
}
