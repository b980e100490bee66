/** Tally as a library: load a project, compile a request, run it. */
export { loadProject, projectFromSources, type Project } from './project.js';
export { compileRequest, type CompiledQuery } from './compile.js';
export { runQuery, type QueryResult, type RunOptions } from './run.js';
export { DuckDBEngine } from './engines/duckdb.js';
export { PostgresEngine, type PostgresEngineOptions } from './engines/postgres.js';
export { openEngine } from './engines/open.js';
export { loadConfig, parseConfig, type TallyConfig, type EngineConfig } from './config.js';
export { seedPostgres } from './seed/postgres.js';
export type { Engine, Cell, ResultSet } from './engines/engine.js';
export { parseRequest, type Request, type RequestInput } from './query/request.js';
export { TallyError, DefinitionError, type ErrorCode, type DefinitionProblem } from './errors.js';
export { toJson, toCsv, toTable } from './output.js';
export { duckdb as duckdbDialect } from './sql/dialects/duckdb.js';
export { DIALECTS, DIALECT_NAMES, dialectByName, type DialectName } from './sql/dialects/index.js';
export type { Dialect } from './sql/dialect.js';
export { loadRevision, type Revision } from './review/revisions.js';
export { diffRevisions, compareNumbers, type DefinitionsDiff, type MetricChange } from './review/diff.js';
export { formatText as formatDiffText, formatMarkdown as formatDiffMarkdown } from './review/report.js';
