/**
 * Shared shapes of check SQL: the rows of one model read through the planner's ScanBuilder (the
 * same projection metrics read), the failing rows with their count (COUNT(*) OVER () before the
 * LIMIT, so that one statement gives the count and a few sample keys), and reading counts,
 * samples and times back exactly.
 */
import type { Model, SemanticGraph } from '../definitions/graph.js';
import type { Cell, ResultSet } from '../engines/engine.js';
import { ScanBuilder } from '../planner/scan.js';
import { col, type SelectColumn, type SqlExpr, type Statement } from '../sql/ast.js';
import type { CheckContext } from './types.js';

/** A column of a model by its entity or dimension name, with its definition SQL. */
export function modelColumn(model: Model, name: string): { name: string; sql: string } | undefined {
  const e = model.entities.get(name);
  if (e) return { name: e.name, sql: e.expr };
  const d = model.dimensions.get(name);
  if (d) return { name: d.name, sql: d.expr };
  return undefined;
}

/** The entity and dimension names a check may name, for did-you-mean. */
export function columnNames(model: Model): string[] {
  return [...model.entities.keys(), ...model.dimensions.keys()];
}

/** The entity that identifies a model's rows (primary, else unique), shown as each sample's key. */
export function sampleKey(model: Model): { name: string; sql: string } | undefined {
  const entities = [...model.entities.values()];
  const key = entities.find((e) => e.type === 'primary') ?? entities.find((e) => e.type === 'unique');
  return key && { name: key.name, sql: key.expr };
}

export function scanOf(graph: SemanticGraph, model: Model, purpose: string): ScanBuilder {
  return new ScanBuilder(graph, model, purpose, 'UTC');
}

/**
 * The rows of `model` for which `fail` holds, showing `shown` columns (the model's key first),
 * each with the number of all such rows in `failing`, in key order, at most `limit` of them.
 */
export function failingRows(
  graph: SemanticGraph,
  model: Model,
  purpose: string,
  shown: { name: string; sql: string }[],
  fail: (scan: ScanBuilder) => SqlExpr,
  ctx: CheckContext,
  extra: (scan: ScanBuilder) => SelectColumn[] = () => [],
): Statement {
  const scan = scanOf(graph, model, purpose);
  const columns = uniqueByName([...(sampleKey(model) ? [sampleKey(model) as { name: string; sql: string }] : []), ...shown]).map((c) => ({
    expr: scan.column(c.name, c.sql),
    alias: c.name,
  }));
  scan.condition(fail(scan));
  const more = extra(scan);
  return {
    ctes: [],
    body: {
      t: 'select',
      columns: [...columns, ...more, { expr: failingCount(), alias: 'failing' }],
      ...scan.build(),
      orderBy: columns.map((c) => ({ expr: c.expr })),
      limit: ctx.sampleLimit,
    },
  };
}

/** COUNT(*) over every row of the result, computed before LIMIT keeps the samples. */
export function failingCount(): SqlExpr {
  return { t: 'window', fn: 'count', arg: { t: 'literal', value: { kind: 'number', text: '1' } }, partitionBy: [], orderBy: [] };
}

function uniqueByName<T extends { name: string }>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((i) => (seen.has(i.name) ? false : (seen.add(i.name), true)));
}

/** The result's rows as objects keyed by column name. */
export function rowObjects(result: ResultSet): Record<string, Cell>[] {
  const names = result.columns.map((c) => c.name);
  return result.rows.map((row) => Object.fromEntries(names.map((n, i) => [n, row[i]])));
}

/** A count cell read exactly (engines hand back numbers, bigints or digit strings). */
export function countOf(cell: Cell | undefined): bigint {
  if (cell === null || cell === undefined) return 0n;
  if (typeof cell === 'bigint') return cell;
  if (typeof cell === 'number') return BigInt(Math.trunc(cell));
  if (typeof cell === 'string' && /^-?\d+$/.test(cell)) return BigInt(cell);
  throw new Error(`not a count: ${String(cell)}`);
}

/**
 * Failing rows and samples of a `failingRows` statement: the samples without the count column, the
 * count from the first row (no rows: nothing fails).
 */
export function failingOf(result: ResultSet, drop: string[] = []): { failing: bigint; samples: Record<string, Cell>[]; rows: Record<string, Cell>[] } {
  const rows = rowObjects(result);
  const failing = rows.length ? countOf(rows[0].failing) : 0n;
  const samples = rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'failing' && !drop.includes(k))));
  return { failing, samples, rows };
}

/** Sample keys for a message: `user=17, user=42`. */
export function sampleText(samples: Record<string, Cell>[]): string {
  if (samples.length === 0) return '';
  const one = (s: Record<string, Cell>): string => {
    const entries = Object.entries(s);
    return entries.length === 1 ? cellText(entries[0][1]) : `(${entries.map(([k, v]) => `${k}=${cellText(v)}`).join(', ')})`;
  };
  return `, e.g. ${samples.map(one).join(', ')}`;
}

function cellText(v: Cell): string {
  return v === null ? 'NULL' : String(v);
}

/** A JS instant as the SQL timestamp literal text Tally uses ('YYYY-MM-DD HH:MM:SS', UTC). */
export function timestampText(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

export function nowLiteral(ctx: CheckContext): SqlExpr {
  return { t: 'literal', value: { kind: 'timestamp', value: timestampText(ctx.now) } };
}

/** An engine's timestamp text (naive, UTC) as an instant; undefined for NULL or unreadable text. */
export function instantOf(cell: Cell | undefined): Date | undefined {
  if (cell === null || cell === undefined) return undefined;
  const text = String(cell).trim();
  const m = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?/.exec(text);
  if (!m) return undefined;
  const d = new Date(`${m[1]}T${m[2] ?? '00:00:00'}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export { col };
