/**
 * Validation of the SQL that analysts write in a semantic model: its `sql:` must be one plain
 * SELECT over tables and views, and every `expr:` one SQL expression over the model's columns.
 * Tally pastes this SQL into the queries it generates, so anything else (a DROP, a COPY, a second
 * statement, a table function reading files such as DuckDB's `read_csv`) would run with the
 * engine's privileges on every request. It is refused when the definitions are loaded, at the
 * `sql` or `expr` key, with what is allowed.
 */
import type { SemanticModelDef } from './schema.js';
import { EXPRESSION_TABLE, functionName, isNode, parseSql, parseSqlExpression, type SqlNode, walk } from './sql-ast.js';

/** A problem with a model's SQL, at a path below the model (`['sql']`, `['measures', 2, 'expr']`). */
export interface SqlProblem {
  path: (string | number)[];
  message: string;
}

const ALLOWED_QUERY = "a model's sql must be one plain SELECT (WITH and UNION are fine) that reads tables and views";
const ALLOWED_EXPR = "an expr must be one SQL expression over the model's columns, like amount or CASE WHEN status = 'paid' THEN amount END";

/**
 * Functions that read files, URLs or other databases, change settings or stall the engine
 * (DuckDB's and Postgres's). Refused wherever they appear; any function in FROM is refused too.
 */
const FORBIDDEN_FUNCTIONS = new Set([
  'read_csv', 'read_csv_auto', 'csv_scan', 'sniff_csv', 'read_parquet', 'parquet_scan', 'parquet_metadata', 'parquet_schema',
  'read_json', 'read_json_auto', 'read_json_objects', 'read_json_objects_auto', 'read_ndjson', 'read_ndjson_auto', 'read_ndjson_objects',
  'json_scan', 'read_text', 'read_blob', 'read_xlsx', 'glob', 'iceberg_scan', 'iceberg_metadata', 'delta_scan', 'st_read',
  'postgres_scan', 'postgres_query', 'postgres_execute', 'mysql_scan', 'mysql_query', 'sqlite_scan', 'sqlite_attach', 'query', 'query_table',
  'getenv', 'current_setting', 'set_config', 'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file', 'lo_import', 'lo_export',
  'dblink', 'dblink_exec', 'pg_sleep', 'pg_sleep_for', 'pg_sleep_until', 'pg_terminate_backend', 'pg_cancel_backend',
]);

/** Every problem with the SQL of one model, in the order of its keys. */
export function checkModelSql(def: SemanticModelDef): SqlProblem[] {
  const problems: SqlProblem[] = [];
  if (def.sql !== undefined) {
    const message = checkQuery(def.sql);
    if (message) problems.push({ path: ['sql'], message: `semantic model '${def.name}': 'sql' ${message}` });
  }
  const exprs = (kind: 'entity' | 'dimension' | 'measure', key: string, items: { name: string; expr?: string | number }[]): void => {
    items.forEach((item, i) => {
      if (item.expr === undefined || typeof item.expr === 'number') return;
      const message = checkExpression(item.expr);
      if (message) problems.push({ path: [key, i, 'expr'], message: `${kind} '${item.name}' of model '${def.name}': 'expr' ${message}` });
    });
  };
  exprs('entity', 'entities', def.entities);
  exprs('dimension', 'dimensions', def.dimensions);
  exprs('measure', 'measures', def.measures);
  return problems;
}

/**
 * Verdicts by text. Parsing costs a millisecond or more per text, and the same texts come back on
 * every reload (`tally serve --watch`, the library loading a project again).
 */
const verdicts = new Map<string, string | undefined>();
const MAX_VERDICTS = 5000;

function remembered(kind: string, text: string, check: (t: string) => string | undefined): string | undefined {
  const key = `${kind}\0${text}`;
  if (verdicts.has(key)) return verdicts.get(key);
  const verdict = check(text);
  if (verdicts.size >= MAX_VERDICTS) verdicts.delete(verdicts.keys().next().value as string);
  verdicts.set(key, verdict);
  return verdict;
}

/** A bare column name or number: nothing to parse, nothing it could do. */
export const PLAIN_EXPRESSION = /^\s*(?:[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?)\s*$/;

/** What is wrong with a model's `sql` (completing "'sql' …"), or undefined when it is a plain SELECT. */
export function checkQuery(sql: string): string | undefined {
  return remembered('query', sql, readQuery);
}

/** What is wrong with an `expr` (completing "'expr' …"), or undefined when it is one expression. */
export function checkExpression(text: string): string | undefined {
  if (PLAIN_EXPRESSION.test(text)) return undefined;
  return remembered('expr', text, readExpression);
}

function readQuery(sql: string): string | undefined {
  const parsed = parseSql(sql);
  if (!parsed.ok) {
    const keyword = leadingKeyword(sql);
    if (keyword && STATEMENT_KEYWORDS.has(keyword)) return `is ${statement(keyword)}; ${ALLOWED_QUERY}`;
    return `could not be read as a SELECT (stopped at line ${parsed.line}, column ${parsed.column} of the SQL); ${ALLOWED_QUERY}`;
  }
  if (parsed.statements.length !== 1) {
    return `holds ${parsed.statements.length} statements; ${ALLOWED_QUERY}. Remove the ';' and what follows it`;
  }
  const [stmt] = parsed.statements;
  if (stmt.type !== 'select') return `is ${statement(String(stmt.type).toUpperCase())}; ${ALLOWED_QUERY}`;
  if (/;\s*$/.test(withoutLiterals(sql))) return `ends with ';', but Tally places it inside a larger query; remove the ';'`;
  return forbiddenUse(stmt, ALLOWED_QUERY, sql);
}

function readExpression(text: string): string | undefined {
  const expr = parseSqlExpression(text);
  if (!expr) return `is not one SQL expression; ${ALLOWED_EXPR}`;
  let subquery = false;
  walk(expr, (n) => {
    if (isNode(n.ast) || n.type === 'select') subquery = true;
  });
  if (subquery) return `holds a subquery; ${ALLOWED_EXPR}. Put the query in the model's sql instead`;
  return forbiddenUse(expr, ALLOWED_EXPR, text);
}

/**
 * A call of a forbidden function found in the text itself (outside string literals and comments),
 * whatever shape a grammar gives it in the tree: the tree walk below is not the only guard.
 */
function forbiddenCallInText(sql: string): string | undefined {
  const code = withoutLiterals(sql).replace(/"/g, '');
  for (const m of code.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*\(/g)) {
    const name = m[1].toLowerCase();
    if (FORBIDDEN_FUNCTIONS.has(name)) return name;
  }
  return undefined;
}

/** The text with string literals and comments blanked out. */
function withoutLiterals(sql: string): string {
  return sql.replace(/'(?:[^']|'')*'|--[^\n]*|\/\*[\s\S]*?\*\//g, ' ');
}

/** Table functions, file-like table names, forbidden calls and SELECT … INTO anywhere in a tree. */
function forbiddenUse(root: SqlNode, allowed: string, text: string): string | undefined {
  let problem: string | undefined;
  walk(root, (n) => {
    if (problem) return;
    const fn = functionName(n);
    if (fn && FORBIDDEN_FUNCTIONS.has(fn.split('.').pop() ?? fn)) {
      problem = `calls ${fn}(…), which reads files, other databases or settings; ${allowed}`;
      return;
    }
    if (isNode(n.into) && n.into.position !== null && n.into.position !== undefined) {
      problem = `uses SELECT … INTO, which creates a table; ${allowed}`;
      return;
    }
    if (!Array.isArray(n.from)) return;
    for (const item of n.from) {
      if (!isNode(item)) continue;
      if (item.type === 'expr' && isNode(item.expr) && functionName(item.expr)) {
        problem = `reads from ${functionName(item.expr)}(…), a table function; ${allowed}. Load the data into a table or view and read that`;
        return;
      }
      const table = typeof item.table === 'string' ? item.table : undefined;
      if (table !== undefined && /[./\\:]/.test(table)) {
        problem = `reads from '${table}', which names a file, not a table; ${allowed}. Load the file into a table or view and read that`;
        return;
      }
      if (table === EXPRESSION_TABLE) {
        problem = `reads from ${EXPRESSION_TABLE}, a name Tally keeps for itself; rename the table`;
        return;
      }
    }
  });
  const call = problem ? undefined : forbiddenCallInText(text);
  return call ? `calls ${call}(…), which reads files, other databases or settings; ${allowed}` : problem;
}

/** Words that start a statement other than a query, for a message naming it when the parser does not know it. */
const STATEMENT_KEYWORDS = new Set([
  'COPY', 'ATTACH', 'DETACH', 'PRAGMA', 'INSTALL', 'LOAD', 'FORCE', 'SET', 'RESET', 'CALL', 'EXPORT', 'IMPORT', 'VACUUM', 'CHECKPOINT',
  'CREATE', 'DROP', 'ALTER', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'UPSERT', 'REPLACE', 'TRUNCATE', 'GRANT', 'REVOKE', 'BEGIN', 'START',
  'COMMIT', 'ROLLBACK', 'ABORT', 'USE', 'DESCRIBE', 'SHOW', 'SUMMARIZE', 'EXPLAIN', 'ANALYZE', 'DO', 'EXECUTE', 'PREPARE', 'DEALLOCATE',
  'LISTEN', 'NOTIFY', 'LOCK', 'REINDEX', 'CLUSTER', 'COMMENT', 'REFRESH', 'SECURITY', 'DISCARD',
]);

function statement(keyword: string): string {
  return `${/^[AEIOU]/.test(keyword) ? 'an' : 'a'} ${keyword} statement`;
}

/** The first word of a statement, past comments and parentheses (`COPY`, `ATTACH`), upper case. */
function leadingKeyword(sql: string): string | undefined {
  const text = sql.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, ' ').replace(/^[\s(]+/, '');
  const word = /^[A-Za-z]+/.exec(text)?.[0];
  return word?.toUpperCase();
}
