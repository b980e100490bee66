/**
 * The one calculation path: request → resolved plan → SQL tree → SQL text. The CLI, the API and
 * the library all compile through here.
 */
import type { SemanticGraph } from './definitions/graph.js';
import { buildPlan, type Plan } from './planner/plan.js';
import { lowerPlan } from './planner/lower.js';
import { parseRequest, type Request, type RequestInput } from './query/request.js';
import type { Statement } from './sql/ast.js';
import type { Dialect } from './sql/dialect.js';
import { duckdb } from './sql/dialects/duckdb.js';
import { renderStatement } from './sql/render.js';
import { lineageOf, type Lineage } from './lineage.js';
import type { Expression } from './query/expression.js';

export interface CompiledQuery {
  request: Request;
  plan: Plan;
  statement: Statement;
  sql: string;
  dialect: string;
  /** Output columns in order: the group-by references as requested, then the metrics. */
  columns: { name: string; role: 'dimension' | 'metric' }[];
  lineage: Lineage;
  version: string;
}

export interface CompileOptions {
  dialect?: Dialect;
  /** Filters already in structured form (the GraphQL API's typed filters), applied like `where`. */
  filters?: Expression[];
}

export function compileRequest(graph: SemanticGraph, input: RequestInput, options: CompileOptions = {}): CompiledQuery {
  const dialect = options.dialect ?? duckdb;
  const request = parseRequest(input);
  const plan = buildPlan(graph, request, options.filters);
  const statement = lowerPlan(graph, plan);
  const header = `-- Tally ${graph.version}: ${request.metrics.join(', ')}${request.groupBy.length ? ` by ${request.groupBy.join(', ')}` : ''}\n`;
  return {
    request,
    plan,
    statement,
    sql: header + renderStatement(statement, dialect),
    dialect: dialect.name,
    columns: [...plan.keys.map((k) => ({ name: k.text, role: 'dimension' as const })), ...plan.outputs.map((o) => ({ name: o.name, role: 'metric' as const }))],
    lineage: lineageOf(graph, request.metrics),
    version: graph.version,
  };
}
