/** Tally as a library: load a project, compile a request, run it. */
export { loadProject, projectFromSources, type Project } from './project.js';
export { compileRequest, type CompiledQuery } from './compile.js';
export { runQuery, type QueryResult, type RunOptions } from './run.js';
export { DuckDBEngine } from './engines/duckdb.js';
export type { Engine, Cell, ResultSet } from './engines/engine.js';
export { parseRequest, type Request, type RequestInput } from './query/request.js';
export { TallyError, DefinitionError, type ErrorCode, type DefinitionProblem } from './errors.js';
export { toJson, toCsv, toTable } from './output.js';
export { duckdb as duckdbDialect } from './sql/dialects/duckdb.js';
