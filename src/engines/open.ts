/** Opens the engine a project's config names. */
import type { EngineConfig } from '../config.js';
import { TallyError } from '../errors.js';
import { DuckDBEngine } from './duckdb.js';
import type { Engine } from './engine.js';
import { PostgresEngine } from './postgres.js';

export interface OpenOptions {
  /** DuckDB: open read-only and refuse a missing file (querying); false to create or write (seeding). */
  readOnly?: boolean;
  env?: NodeJS.ProcessEnv;
  /** DuckDB: connections on the instance (statements that may run at once; default 1). */
  connections?: number;
  /** DuckDB: memory_limit such as '2GB', and threads. */
  memoryLimit?: string;
  threads?: number;
}

export async function openEngine(config: EngineConfig, options: OpenOptions = {}): Promise<Engine> {
  if (config.type === 'duckdb') {
    const readOnly = options.readOnly ?? true;
    return DuckDBEngine.open({ path: config.path, readOnly, mustExist: readOnly, connections: options.connections, memoryLimit: options.memoryLimit, threads: options.threads });
  }
  return openPostgres(config, options.env ?? process.env);
}

export async function openPostgres(config: Extract<EngineConfig, { type: 'postgres' }>, env: NodeJS.ProcessEnv = process.env): Promise<PostgresEngine> {
  const url = env[config.urlEnv];
  if (!url && config.urlEnvConfigured) {
    throw new TallyError('ENGINE_ERROR', `the environment variable ${config.urlEnv} (named by url_env in tally.yml) is not set; set it to postgres://user:password@host:port/database`);
  }
  return PostgresEngine.open({
    connectionString: url || undefined,
    source: url ? `$${config.urlEnv}` : `the PG* environment variables ($${config.urlEnv} is not set)`,
    schema: config.schema,
    maxConnections: config.maxConnections,
  });
}
