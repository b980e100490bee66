/**
 * The one calculation path: request → resolved plan → SQL tree → SQL text. The CLI, the API and
 * the library all compile through here.
 */
import type { SemanticGraph } from './definitions/graph.js';
import { buildPlan, outputColumns, type Plan } from './planner/plan.js';
import { resolveSavedQuery } from './query/saved-query.js';
import { lowerPlan } from './planner/lower/index.js';
import { parseRequest, type Request, type RequestInput } from './query/request.js';
import type { Statement } from './sql/ast.js';
import type { Dialect } from './sql/dialect.js';
import { dialectByName, type DialectName } from './sql/dialects/index.js';
import { renderStatement } from './sql/render.js';
import { lineageOf, type Lineage } from './lineage.js';
import type { Expression } from './query/expression.js';
import { deprecationWarnings } from './deprecation.js';

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
  /** Deprecated metrics the request uses, each with what to use instead. */
  warnings: string[];
}

export interface CompileOptions {
  /** The SQL dialect, by name ('bigquery') or as a Dialect; DuckDB when absent. */
  dialect?: Dialect | DialectName;
  /** Filters already in structured form (the GraphQL API's typed filters), applied like `where`. */
  filters?: Expression[];
  /**
   * Access-policy row filters (src/access): applied like `filters`, and also to the conversion
   * events of conversion metrics and to metrics used inside filters, so that no path reads a row
   * the caller may not see.
   */
  rowFilters?: Expression[];
}

export function compileRequest(graph: SemanticGraph, input: RequestInput, options: CompileOptions = {}): CompiledQuery {
  const dialect = typeof options.dialect === 'string' ? dialectByName(options.dialect) : (options.dialect ?? dialectByName('duckdb'));
  const request = resolveSavedQuery(graph, parseRequest(input));
  const plan = buildPlan(graph, request, options.filters, options.rowFilters);
  const statement = lowerPlan(graph, plan, { sortedAggregatesApart: dialect.sortedAggregatesApart });
  const header = `-- Tally ${graph.version}: ${request.metrics.join(', ')}${request.groupBy.length ? ` by ${request.groupBy.join(', ')}` : ''}\n`;
  return {
    request,
    plan,
    statement,
    sql: header + renderStatement(statement, dialect),
    dialect: dialect.name,
    columns: outputColumns(plan),
    // Row filters are the access policy's business, not part of what the caller asked.
    lineage: lineageOf(graph, request.metrics, { groupBy: request.groupBy, filters: plan.where.filter((f) => !plan.rowFilters.includes(f)) }),
    version: graph.version,
    warnings: deprecationWarnings(graph, request.metrics),
  };
}
