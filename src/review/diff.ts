/**
 * What a change to the definitions does: metrics added, removed and changed between two
 * versions, with the unified diff of each changed metric's SQL for one standard request, and,
 * when asked, how its numbers move. Both versions are compiled and run through the same path as
 * every other request, so the review shows what users will get.
 */
import { type AffectedExperiment, runningExperimentsTouched } from '../experiments/diff.js';
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import { formulaOf } from '../catalog.js';
import { compileRequest } from '../compile.js';
import type { Cell, Engine } from '../engines/engine.js';
import { metricInputs, type SemanticGraph } from '../definitions/graph.js';
import type { MetricDef } from '../definitions/schema.js';
import { TallyError } from '../errors.js';
import type { RequestInput } from '../query/request.js';
import { type QueryResult, runQuery } from '../run.js';
import type { Dialect } from '../sql/dialect.js';
import { duckdb } from '../sql/dialects/duckdb.js';
import { renderStatement } from '../sql/render.js';
import { subtract, percentChange } from './numbers.js';
import type { Revision } from './revisions.js';

export interface MetricSummary {
  metric: string;
  type: MetricDef['type'];
  formula: string;
  owner?: string;
  description?: string;
}

export interface FieldChange {
  /** A top-level key of the metric's definition, such as `filter`. */
  field: string;
  base?: unknown;
  head?: unknown;
}

export interface MetricChange {
  metric: string;
  /** Keys of the definition that changed; empty when only what it is computed from changed. */
  fields: FieldChange[];
  /** Metrics it is computed from whose definitions changed too. */
  changedInputs: string[];
  /** The request whose SQL is compared, and (with data) run. */
  request: StandardRequest;
  /** The request in words, e.g. "revenue by metric_time.month". */
  requestText: string;
  baseSql: string;
  headSql: string;
  /** Unified diff of the SQL; empty when the SQL is the same. */
  sqlDiff: string;
  /** Filled by {@link compareNumbers}. */
  numbers?: NumberChange[];
  /** Why the numbers could not be compared, when one version cannot run the request. */
  numbersError?: string;
}

export interface NumberChange {
  /** The group-by values of the row, e.g. "2025-01-01"; empty for a metric without group-by. */
  key: string;
  base: Cell;
  head: Cell;
  /** head − base, exact for exact numbers; null when either side has no value. */
  change: Cell;
  /** The change in percent of base, rounded to one decimal; null when base is 0 or missing. */
  percent: number | null;
}

export interface ModelChanges {
  added: string[];
  removed: string[];
  changed: string[];
}

export interface DefinitionsDiff {
  base: { label: string; commit?: string; version: string };
  head: { label: string; commit?: string; version: string };
  added: MetricSummary[];
  removed: MetricSummary[];
  changed: MetricChange[];
  models: ModelChanges;
  /** The SQL dialect the SQL was compiled in. */
  dialect: string;
  /** Running experiments whose metrics this change removes or computes differently (its SQL changed; src/experiments/diff.ts). */
  experiments?: AffectedExperiment[];
}

/** The metric by month, or the metric alone when it has no time axis. */
export interface StandardRequest {
  metrics: string[];
  groupBy: string[];
}

export interface DiffOptions {
  /** Dialect the SQL is compared in; DuckDB by default. */
  dialect?: Dialect;
}

/** Compares two versions of the definitions. */
export function diffRevisions(base: Revision, head: Revision, options: DiffOptions = {}): DefinitionsDiff {
  const dialect = options.dialect ?? duckdb;
  const a = base.project.graph;
  const b = head.project.graph;
  const summary = (graph: SemanticGraph, name: string): MetricSummary => {
    const def = graph.metrics.get(name)!.def;
    return { metric: name, type: def.type, formula: formulaOf(def), owner: def.owner, description: def.description };
  };
  const added = [...b.metrics.keys()].filter((m) => !a.metrics.has(m)).map((m) => summary(b, m));
  const removed = [...a.metrics.keys()].filter((m) => !b.metrics.has(m)).map((m) => summary(a, m));

  const definitionChanged = new Set<string>();
  const fieldChanges = new Map<string, FieldChange[]>();
  for (const name of b.metrics.keys()) {
    const before = a.metrics.get(name)?.def;
    if (!before) continue;
    const fields = changedFields(before, b.metrics.get(name)!.def);
    fieldChanges.set(name, fields);
    if (fields.length) definitionChanged.add(name);
  }

  const changed: MetricChange[] = [];
  for (const name of b.metrics.keys()) {
    if (!a.metrics.has(name)) continue;
    const request = standardRequest(a, b, name);
    const baseSql = sqlOf(a, request, dialect);
    const headSql = sqlOf(b, request, dialect);
    const fields = fieldChanges.get(name) ?? [];
    if (fields.length === 0 && baseSql === headSql) continue;
    changed.push({
      metric: name,
      fields,
      changedInputs: metricClosure(b, name).filter((m) => m !== name && definitionChanged.has(m)),
      request,
      requestText: requestText(request),
      baseSql,
      headSql,
      sqlDiff: baseSql === headSql ? '' : unifiedDiff(`${name}.sql`, baseSql, headSql, base.label, head.label),
    });
  }

  return {
    base: { label: base.label, commit: base.commit, version: base.project.version },
    head: { label: head.label, commit: head.commit, version: head.project.version },
    added,
    removed,
    changed,
    models: modelChanges(a, b),
    dialect: dialect.name,
    experiments: runningExperimentsTouched(a, b, new Set([...changed.filter((c) => c.sqlDiff !== '').map((c) => c.metric), ...removed.map((m) => m.metric)])),
  };
}

/** Runs each changed metric's standard request on both versions and lines the numbers up. */
export async function compareNumbers(diff: DefinitionsDiff, base: Revision, head: Revision, engine: Engine, options: { timeoutMs?: number } = {}): Promise<void> {
  for (const change of diff.changed) {
    let before: QueryResult;
    let after: QueryResult;
    try {
      before = await runQuery(base.project, engine, change.request, options);
      after = await runQuery(head.project, engine, change.request, options);
    } catch (e) {
      if (!(e instanceof TallyError) || e.code === 'QUERY_TIMEOUT' || e.code === 'QUERY_CANCELLED' || e.code === 'ENGINE_ERROR') throw e;
      change.numbersError = `[${e.code}] ${e.message}`;
      continue;
    }
    const keyOf = (row: Record<string, Cell>): string => change.request.groupBy.map((g) => String(row[g] ?? 'NULL')).join(' / ');
    const rows = new Map<string, { base: Cell; head: Cell }>();
    for (const row of before.rows) rows.set(keyOf(row), { base: row[change.metric], head: null });
    for (const row of after.rows) {
      const key = keyOf(row);
      rows.set(key, { base: rows.get(key)?.base ?? null, head: row[change.metric] });
    }
    change.numbers = [...rows]
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
      .map(([key, { base: old, head: now }]) => ({ key, base: old, head: now, change: subtract(now, old), percent: percentChange(old, now) }));
  }
}

/**
 * The request a metric's SQL is compared for: the metric by month when both versions give it
 * a time axis, else the metric alone.
 */
function standardRequest(a: SemanticGraph, b: SemanticGraph, metric: string): StandardRequest {
  const monthly: StandardRequest = { metrics: [metric], groupBy: ['metric_time.month'] };
  return compiles(a, monthly) && compiles(b, monthly) ? monthly : { metrics: [metric], groupBy: [] };
}

function compiles(graph: SemanticGraph, request: RequestInput): boolean {
  try {
    compileRequest(graph, request);
    return true;
  } catch (e) {
    if (e instanceof TallyError) return false;
    throw e;
  }
}

function sqlOf(graph: SemanticGraph, request: RequestInput, dialect: Dialect): string {
  try {
    // Without the header comment, which names the definitions' version and so always differs.
    return renderStatement(compileRequest(graph, request, { dialect }).statement, dialect);
  } catch (e) {
    if (e instanceof TallyError) return `-- does not compile: [${e.code}] ${e.message}\n`;
    throw e;
  }
}

export function requestText(request: StandardRequest): string {
  return `${request.metrics.join(', ')}${request.groupBy.length ? ` by ${request.groupBy.join(', ')}` : ''}`;
}

function unifiedDiff(file: string, before: string, after: string, baseLabel: string, headLabel: string): string {
  return createTwoFilesPatch(`${file} (${baseLabel})`, `${file} (${headLabel})`, withNewline(before), withNewline(after), undefined, undefined, { context: 3, headerOptions: FILE_HEADERS_ONLY });
}

const withNewline = (s: string): string => (s.endsWith('\n') ? s : `${s}\n`);

function changedFields(before: MetricDef, after: MetricDef): FieldChange[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const get = (def: MetricDef, key: string): unknown => (def as Record<string, unknown>)[key];
  return keys.filter((k) => canonical(get(before, k)) !== canonical(get(after, k))).map((k) => ({ field: k, base: get(before, k), head: get(after, k) }));
}

/** JSON with sorted keys, so that two definitions compare by content, not by key order. */
export function canonical(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The metric and every metric it is computed from. */
function metricClosure(graph: SemanticGraph, name: string, seen = new Set<string>()): string[] {
  if (seen.has(name)) return [];
  seen.add(name);
  const def = graph.metrics.get(name)?.def;
  if (def) for (const input of metricInputs(def)) metricClosure(graph, input, seen);
  return [...seen];
}

function modelChanges(a: SemanticGraph, b: SemanticGraph): ModelChanges {
  return {
    added: [...b.models.keys()].filter((m) => !a.models.has(m)),
    removed: [...a.models.keys()].filter((m) => !b.models.has(m)),
    changed: [...b.models.keys()].filter((m) => a.models.has(m) && canonical(a.models.get(m)!.def) !== canonical(b.models.get(m)!.def)),
  };
}
