/** Opens the engine a project's config names. */
import type { EngineConfig } from '../config.js';
import { TallyError } from '../errors.js';
import { DuckDBEngine } from './duckdb.js';
import type { Engine } from './engine.js';
import { PostgresEngine } from './postgres.js';
import { TrinoEngine } from './trino.js';

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
  if (config.type === 'trino') return openTrino(config, options.env ?? process.env);
  return openPostgres(config, options.env ?? process.env);
}

/**
 * Trino from the variables tally.yml names: the coordinator's URL, the user (default `tally`) and,
 * if named, a password. Messages name the variables, never their values.
 */
export async function openTrino(config: Extract<EngineConfig, { type: 'trino' }>, env: NodeJS.ProcessEnv = process.env): Promise<TrinoEngine> {
  const server = env[config.urlEnv];
  if (!server) {
    throw new TallyError('ENGINE_ERROR', `the environment variable ${config.urlEnv} (named by url_env in tally.yml) is not set; set it to the Trino coordinator's URL, e.g. http://trino.example.com:8080`);
  }
  let password: string | undefined;
  if (config.passwordEnv) {
    password = env[config.passwordEnv];
    if (password === undefined) throw new TallyError('ENGINE_ERROR', `the environment variable ${config.passwordEnv} (named by password_env in tally.yml) is not set`);
  }
  const sources = [`$${config.urlEnv}`, env[config.userEnv] ? `$${config.userEnv}` : undefined, config.passwordEnv ? `$${config.passwordEnv}` : undefined].filter(Boolean);
  return TrinoEngine.open({
    server,
    user: env[config.userEnv] || 'tally',
    password,
    catalog: config.catalog,
    schema: config.schema,
    source: sources.join(', '),
  });
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
