/** Compile a request and run it on an engine: the answer with its audit record. */
import { compileRequest, type CompiledQuery, type CompileOptions, type RollupOptions } from './compile.js';
import type { RollupRouting } from './rollups/route.js';
import type { Cell, Engine, ResultSet } from './engines/engine.js';
import type { Lineage } from './lineage.js';
import type { Project } from './project.js';
import type { AnswerHealth } from './checks/health.js';
import type { Request, RequestInput } from './query/request.js';

export interface QueryResult {
  columns: { name: string; type: string; role: 'dimension' | 'metric' }[];
  /** One object per row, keyed by the metric names and group-by references as requested. */
  rows: Record<string, Cell>[];
  sql: string;
  version: string;
  commit?: string;
  lineage: Lineage;
  /** Deprecated metrics the request uses, each with what to use instead. */
  warnings: string[];
  /** The request as resolved (saved query applied): what data health is judged against. */
  request?: Request;
  /** Freshness, failed checks and incomplete periods of the inputs (src/checks/health.ts), where computed. */
  health?: AnswerHealth;
  /**
   * Where rollups were offered: `served` with the rollups that answered (name, table, builtAt,
   * version, fingerprint), or the reason none did, and the decision for each leaf.
   */
  rollups?: RollupRouting;
}

/** A rollup store to answer from: its engine and what it records about the rollups built in it. */
export interface RollupSource extends Omit<RollupOptions, 'dialect'> {
  /** The store's engine; a routed statement is rendered in its dialect and runs on it. */
  engine: Engine;
}

export interface RunOptions extends Pick<CompileOptions, 'filters' | 'rowFilters'> {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Answer from this rollup store where its rollups provably give the base answer; absent: the base tables. */
  rollups?: RollupSource;
}

export async function runQuery(project: Project, engine: Engine, request: RequestInput, options: RunOptions = {}): Promise<QueryResult> {
  const store = options.rollups;
  const rollups = store ? { built: store.built, fingerprint: store.fingerprint, database: store.database, dialect: store.engine.dialect } : undefined;
  const compiled: CompiledQuery = compileRequest(project.graph, request, { dialect: engine.dialect, filters: options.filters, rowFilters: options.rowFilters, rollups });
  const target = store && compiled.rollups?.served ? store.engine : engine;
  return answerOf(project, compiled, await target.query(compiled.sql, { timeoutMs: options.timeoutMs, signal: options.signal }));
}

/** The engine's rows as the request's answer, keyed by what was asked, with the audit record. */
export function answerOf(project: Project, compiled: CompiledQuery, result: ResultSet): QueryResult {
  const names = compiled.columns.map((c) => c.name);
  return {
    columns: compiled.columns.map((c, i) => ({ ...c, type: result.columns[i]?.type ?? 'UNKNOWN' })),
    rows: result.rows.map((row) => Object.fromEntries(names.map((n, i) => [n, row[i]]))),
    sql: compiled.sql,
    version: project.version,
    commit: project.commit,
    lineage: compiled.lineage,
    warnings: compiled.warnings,
    request: compiled.request,
    ...(compiled.rollups ? { rollups: compiled.rollups } : {}),
  };
}
