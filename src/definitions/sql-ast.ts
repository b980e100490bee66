/**
 * Reading the SQL that analysts write in definitions (a model's `sql:`, the `expr:` of entities,
 * dimensions and measures) with node-sql-parser, for two jobs: refusing anything that is not a
 * plain SELECT or expression (sql-check.ts) and column-level lineage (column-lineage.ts).
 *
 * The parser's AST is plain JSON with loosely typed nodes; this module turns it into records that
 * the two readers walk without trusting its shape. The PostgreSQL grammar reads every model of
 * the example project and of the MetricFlow reference manifests.
 */
import { createRequire } from 'node:module';
import type { Parser } from 'node-sql-parser';

// One grammar's build of node-sql-parser at a time, loaded when first tried: the full build
// (every grammar) is seven times the size of one and took most of the CLI's start-up to load;
// most definitions read with the first grammar, so the others are rarely loaded at all.
const require = createRequire(import.meta.url);
const parsers = new Map<string, Parser>();
function parserFor(database: string): Parser {
  let parser = parsers.get(database);
  if (!parser) {
    const build = require(`node-sql-parser/build/${database}.js`) as { Parser: new () => Parser };
    parser = new build.Parser();
    parsers.set(database, parser);
  }
  return parser;
}
/**
 * Grammars tried in order. node-sql-parser has no DuckDB grammar; PostgreSQL's is the closest
 * (`::` casts, `ILIKE`, `FILTER (WHERE …)`), Snowflake's adds DuckDB's `SELECT * EXCLUDE`,
 * `QUALIFY` and `GROUP BY ALL`, BigQuery's its list literals and `SELECT * REPLACE`. What is
 * checked afterwards (statement kinds, FROM items, function names) reads the same in all of them.
 */
const GRAMMARS = ['postgresql', 'snowflake', 'bigquery'];

/** One node of node-sql-parser's AST. */
export type SqlNode = Record<string, unknown>;

/** Whether a value of the AST is a node (an object, not an array or a scalar). */
export function isNode(v: unknown): v is SqlNode {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A statement list, or where in the text the parser stopped (1-based line and column). */
export type ParsedSql = { ok: true; statements: SqlNode[] } | { ok: false; line: number; column: number };

/** Parses SQL text into its statements (`SELECT 1;` is one statement, `SELECT 1; SELECT 2` two). */
export function parseSql(text: string): ParsedSql {
  let first: ParsedSql | undefined;
  for (const database of GRAMMARS) {
    try {
      const ast: unknown = parserFor(database).astify(text, { database });
      const list = Array.isArray(ast) ? ast : [ast];
      return { ok: true, statements: list.filter(isNode) };
    } catch (err) {
      // Where the first (closest) grammar stopped is the most useful place to point at.
      const start = isNode(err) && isNode(err.location) && isNode(err.location.start) ? err.location.start : {};
      first ??= { ok: false, line: typeof start.line === 'number' ? start.line : 1, column: typeof start.column === 'number' ? start.column : 1 };
    }
  }
  return first ?? { ok: false, line: 1, column: 1 };
}

/** The placeholder table an expression is read over; no definition may use this name. */
export const EXPRESSION_TABLE = '__tally_rows';

/**
 * Parses one SQL expression by placing it in `SELECT (<expr>) FROM __tally_rows`, on lines of its
 * own so that a trailing `--` comment cannot swallow the wrapper. Returns the expression node, or
 * undefined when the text is not exactly one expression (a second column, a FROM of its own, a
 * second statement, a syntax error).
 */
export function parseSqlExpression(text: string): SqlNode | undefined {
  const parsed = parseSql(`SELECT (\n${text}\n) AS __tally_expr FROM ${EXPRESSION_TABLE}`);
  if (!parsed.ok || parsed.statements.length !== 1) return undefined;
  const [stmt] = parsed.statements;
  if (stmt.type !== 'select' || !Array.isArray(stmt.columns) || stmt.columns.length !== 1) return undefined;
  const from = stmt.from;
  if (!Array.isArray(from) || from.length !== 1 || !isNode(from[0]) || from[0].table !== EXPRESSION_TABLE || from[0].as) return undefined;
  for (const key of ['with', 'where', 'groupby', 'having', 'orderby', 'window', '_next']) {
    if (stmt[key] !== null && stmt[key] !== undefined) return undefined;
  }
  if (isNode(stmt.limit) && Array.isArray(stmt.limit.value) && stmt.limit.value.length > 0) return undefined;
  if (isNode(stmt.into) && stmt.into.position !== null && stmt.into.position !== undefined) return undefined;
  const column = stmt.columns[0];
  return isNode(column) && isNode(column.expr) ? column.expr : undefined;
}

/** Visits every node below (and including) `node`, depth first. */
export function walk(node: unknown, visit: (n: SqlNode) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
    return;
  }
  if (!isNode(node)) return;
  visit(node);
  for (const value of Object.values(node)) if (typeof value === 'object' && value !== null) walk(value, visit);
}

/** The text of an identifier, whichever way the parser wrapped it (`x`, `{value}`, `{expr:{value}}`). */
export function identifierText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (!isNode(v)) return undefined;
  if (typeof v.value === 'string') return v.value;
  if (isNode(v.expr)) return identifierText(v.expr);
  return undefined;
}

/** A function call's name in lower case (`read_csv`, `pg_catalog.pg_read_file`), for calls and aggregates. */
export function functionName(n: SqlNode): string | undefined {
  if (n.type !== 'function' && n.type !== 'aggr_func') return undefined;
  const name = n.name;
  if (typeof name === 'string') return name.toLowerCase();
  if (isNode(name) && Array.isArray(name.name)) {
    // BigQuery's grammar puts a bare name in `schema` and leaves `name` empty.
    const parts = [name.schema, ...name.name].map(identifierText).filter((p): p is string => p !== undefined);
    return parts.join('.').toLowerCase();
  }
  return identifierText(name)?.toLowerCase();
}

/** A column reference's qualifier and name (`*` for a star); undefined for other nodes. */
export function columnRef(n: SqlNode): { table?: string; column: string } | undefined {
  if (n.type !== 'column_ref') return undefined;
  const column = identifierText(n.column);
  if (column === undefined) return undefined;
  const table = n.table === null || n.table === undefined ? undefined : identifierText(n.table);
  return { table, column };
}

/** Every column reference in an expression, not descending into subqueries. */
export function columnRefs(expr: unknown): { table?: string; column: string }[] {
  const out: { table?: string; column: string }[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!isNode(node)) return;
    if (isNode(node.ast)) return; // a subquery: its columns belong to its own FROM
    const ref = columnRef(node);
    if (ref) {
      out.push(ref);
      return;
    }
    for (const value of Object.values(node)) if (typeof value === 'object' && value !== null) visit(value);
  };
  visit(expr);
  return out;
}
