/**
 * The one calculation path: request → resolved plan → SQL tree → SQL text. The CLI, the API and
 * the library all compile through here.
 */
import type { SemanticGraph } from './definitions/graph.js';
import { buildPlan, outputColumns, type Plan } from './planner/plan.js';
import { TallyError } from './errors.js';
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
import { RollupRouter, type RollupRouting, usableRollups } from './rollups/route.js';
import type { BuiltRollup } from './rollups/types.js';

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
  /**
   * Where rollups were offered: whether they answer the request (then `sql` reads only rollup
   * tables, in the rollup store's dialect, and runs on the store), which, and why not per leaf.
   */
  rollups?: RollupRouting;
}

/** Built rollups a request may be answered from (see src/rollups/route.ts for when it is). */
export interface RollupOptions {
  /** What the rollup store records about each built rollup. */
  built: BuiltRollup[];
  /** The fingerprint the current definitions give a rollup (undefined: not declared); others are never used. */
  fingerprint: (name: string) => string | undefined;
  /** The rollup store's dialect (DuckDB when absent): a routed statement is rendered in it. */
  dialect?: Dialect | DialectName;
  /** The database the request reads (databaseIdentity); a build recorded from another one is never used. */
  database?: string;
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
  /** Answer from rollups where every leaf of the request is served by one (all-or-nothing). */
  rollups?: RollupOptions;
}

export function compileRequest(graph: SemanticGraph, input: RequestInput, options: CompileOptions = {}): CompiledQuery {
  const dialect = typeof options.dialect === 'string' ? dialectByName(options.dialect) : (options.dialect ?? dialectByName('duckdb'));
  const request = resolveSavedQuery(graph, parseRequest(input));
  const plan = buildPlan(graph, request, options.filters, options.rowFilters);
  const header = `-- Tally ${graph.version}: ${request.metrics.join(', ')}${request.groupBy.length ? ` by ${request.groupBy.join(', ')}` : ''}\n`;
  const routed = options.rollups ? routeToRollups(graph, plan, options.rollups, dialect) : undefined;
  const statement = routed?.statement ?? routed?.baseStatement ?? lowerPlan(graph, plan, { sortedAggregatesApart: dialect.sortedAggregatesApart });
  const target = routed?.statement ? routed.dialect : dialect;
  const from = routed?.routing.served ? routed.routing.rollups.map((r) => `-- from rollup ${r.name} (table ${r.table}), built ${r.builtAt} from version ${r.version}, fingerprint ${r.fingerprint}\n`).join('') : '';
  return {
    request,
    plan,
    statement,
    sql: header + from + renderStatement(statement, target),
    dialect: target.name,
    columns: outputColumns(plan),
    // Row filters are the access policy's business, not part of what the caller asked.
    lineage: lineageOf(graph, request.metrics, { groupBy: request.groupBy, filters: plan.where.filter((f) => !plan.rowFilters.includes(f)) }),
    version: graph.version,
    warnings: [...deprecationWarnings(graph, request.metrics), ...(routed?.routing.served ? routed.routing.rollups.flatMap((r) => (r.warnings ?? []).map((w) => `rollup ${r.name}: ${w}`)) : [])],
    rollups: routed?.routing,
  };
}

/**
 * The plan lowered with its leaves routed to rollups: the statement when every leaf is served
 * (all-or-nothing), and the routing either way. A leaf that cannot be routed is lowered for the
 * base tables meanwhile, so every refusal is recorded. When no leaf at all was served, that
 * statement is the base statement (`baseStatement`, when lowered with the same options as the base
 * dialect's), so it is not lowered a second time; otherwise it is thrown away.
 */
function routeToRollups(graph: SemanticGraph, plan: Plan, options: RollupOptions, base: Dialect): { statement?: Statement; baseStatement?: Statement; dialect: Dialect; routing: RollupRouting } {
  const dialect = typeof options.dialect === 'string' ? dialectByName(options.dialect) : (options.dialect ?? dialectByName('duckdb'));
  const { usable, unusable } = usableRollups(options.built, options.fingerprint, options.database);
  const router = new RollupRouter(graph, usable, unusable, dialect.name === base.name);
  if (usable.length === 0 || plan.outputs.length === 0) return { dialect, routing: router.report() };
  let statement: Statement | undefined;
  try {
    statement = lowerPlan(graph, plan, { sortedAggregatesApart: dialect.sortedAggregatesApart, rollups: router });
  } catch (e) {
    // The base lowering (next) reports a request's own errors; here they only mean "not routed".
    if (!(e instanceof TallyError)) throw e;
    router.fail(`routing stopped: ${e.message}`);
  }
  const routing = router.report();
  if (routing.served) return { statement, dialect, routing };
  const baseAlike = statement !== undefined && routing.leaves.every((l) => l.rollup === undefined) && Boolean(dialect.sortedAggregatesApart) === Boolean(base.sortedAggregatesApart);
  return { baseStatement: baseAlike ? statement : undefined, dialect, routing };
}
