/** Compile a request and run it on an engine: the answer with its audit record. */
import { compileRequest, type CompiledQuery, type CompileOptions } from './compile.js';
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
}

export interface RunOptions extends Pick<CompileOptions, 'filters'> {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export async function runQuery(project: Project, engine: Engine, request: RequestInput, options: RunOptions = {}): Promise<QueryResult> {
  const compiled: CompiledQuery = compileRequest(project.graph, request, { dialect: engine.dialect, filters: options.filters });
  return answerOf(project, compiled, await engine.query(compiled.sql, options));
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
  };
}
