/**
 * The project config, tally.yml at the project root: which engine runs queries and which SQL
 * dialect `tally compile` writes. Connection secrets never live in this file: it names the
 * environment variable that holds them. Problems are reported at file:line:col, like metrics/.
 *
 *   engine:
 *     type: postgres          # or duckdb (the default, with path: .tally/demo.duckdb)
 *     url_env: TALLY_PG_URL   # the variable holding postgres://user:password@host:port/db
 *     schema: analytics       # optional search_path
 *   dialect: snowflake        # optional: what `tally compile` writes (default: the engine's)
 *   rollups:                  # where rollups are kept (src/rollups/store.ts); default: .tally/rollups.duckdb
 *     store: duckdb           # or engine: tables in a schema of the engine
 *     schedules: { hourly: "0 * * * *" }   # names a rollup's refresh.schedule may use
 *   server:
 *     cors_origins: [https://dashboards.example.com]   # pages that may call the API (default: none, same-origin only)
 *
 *   engine:
 *     type: trino
 *     url_env: TALLY_TRINO_URL            # the variable holding http(s)://coordinator:port
 *     user_env: TALLY_TRINO_USER          # the variable holding the user (default: tally)
 *     password_env: TALLY_TRINO_PASSWORD  # optional: the variable holding a password (HTTPS only)
 *     catalog: memory
 *     schema: default
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { parseYamlFile, problemAtPath, zodProblem } from './definitions/yaml-source.js';
import { type DefinitionProblem, DefinitionError } from './errors.js';
import { AUTH_SECRET_KEYS, type AuthConfig, authSchema, type LimitsConfig, limitsSchema } from './access/auth-config.js';
import { DIALECT_NAMES, type DialectName } from './sql/dialects/index.js';
import { DEFAULT_STATE_PATH, type StateConfig } from './checks/state-config.js';
import { DEFAULT_ROLLUP_PATH, DEFAULT_ROLLUP_SCHEMA, type RollupStoreConfig } from './rollups/store-config.js';
import { cronProblem } from './definitions/cron.js';
import { isTimeZone } from './definitions/time-zone.js';
import { DEFAULT_DUCKDB_PATH } from './defaults.js';

export const CONFIG_FILE = 'tally.yml';
export { DEFAULT_DUCKDB_PATH };
export const DEFAULT_PG_URL_ENV = 'TALLY_PG_URL';
export const DEFAULT_TRINO_URL_ENV = 'TALLY_TRINO_URL';
export const DEFAULT_TRINO_USER_ENV = 'TALLY_TRINO_USER';
export const DEFAULT_TRINO_PASSWORD_ENV = 'TALLY_TRINO_PASSWORD';

export type EngineConfig =
  | { type: 'duckdb'; path: string }
  | {
      type: 'postgres';
      /** The environment variable with the connection URL; when unset, libpq's PGHOST, PGUSER… apply. */
      urlEnv: string;
      /** Whether url_env was written in tally.yml (then a missing variable is an error). */
      urlEnvConfigured: boolean;
      schema?: string;
      maxConnections?: number;
    }
  | {
      type: 'trino';
      /** The environment variable with the coordinator's URL (http(s)://host:port). */
      urlEnv: string;
      /** The environment variable with the user; when unset, the user is `tally`. */
      userEnv: string;
      /** The environment variable with a password for basic authentication, if any. */
      passwordEnv?: string;
      catalog: string;
      schema: string;
    };

export interface TallyConfig {
  /** The tally.yml that was read, if any. */
  file?: string;
  engine: EngineConfig;
  /** The dialect `tally compile` writes by default. */
  dialect: DialectName;
  /** Who may call the API (src/access/auth-config.ts); absent without tally.yml, the open demo. Paths are absolute. */
  auth?: AuthConfig;
  /** Limits on requests and answers served by the API. */
  limits?: LimitsConfig;
  /** The check state store; `.tally/state.duckdb` under the project when absent. */
  state?: StateConfig;
  /** When `tally serve` runs the checks: a cron expression and the zone it is read in. */
  checks?: { schedule?: string; timeZone?: string };
  /** Origins (scheme://host[:port]) whose pages may call the API from a browser; none: same-origin only. */
  corsOrigins?: string[];
  /** The rollup store; `.tally/rollups.duckdb` under the project when absent (see rollupStoreConfigOf). */
  rollups?: RollupStoreConfig;
  /** Named cron schedules for rollups (`rollups: { schedules: { hourly: "0 * * * *" } }`). */
  rollupSchedules?: Record<string, string>;
}

const origin = z.union([
  z.literal('*'),
  z
    .string()
    .regex(/^https?:\/\/[^/\s]+$/, "an origin is scheme://host[:port] with no path, e.g. 'https://dashboards.example.com'"),
]);

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'name an environment variable (letters, digits and _), not its value');
const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, 'a schema name: letters, digits, _ and $');

const configSchema = z.strictObject({
  engine: z
    .discriminatedUnion('type', [
      z.strictObject({ type: z.literal('duckdb'), path: z.string().min(1).optional() }),
      z.strictObject({
        type: z.literal('postgres'),
        url_env: envName.optional(),
        schema: identifier.optional(),
        max_connections: z.int().min(1).max(100).optional(),
      }),
      z.strictObject({
        type: z.literal('trino'),
        url_env: envName.optional(),
        user_env: envName.optional(),
        password_env: envName.optional(),
        catalog: identifier.optional(),
        schema: identifier.optional(),
      }),
    ])
    .optional(),
  dialect: z.enum(DIALECT_NAMES).optional(),
  auth: authSchema.optional(),
  limits: limitsSchema.optional(),
  /** When `tally serve` runs the data checks: a cron expression (src/checks/schedule.ts). */
  checks: z.strictObject({ schedule: z.string().min(1).optional(), time_zone: z.string().min(1).optional() }).optional(),
  /** Where check results and their history are kept (src/checks/state.ts); never the warehouse. */
  state: z
    .discriminatedUnion('type', [
      z.strictObject({ type: z.literal('duckdb'), path: z.string().min(1).optional() }),
      z.strictObject({ type: z.literal('postgres'), url_env: envName.optional(), schema: identifier.default('tally_state') }),
    ])
    .optional(),
  server: z.strictObject({ cors_origins: z.array(origin).default([]) }).optional(),
  /** Where rollups are kept (src/rollups/store.ts): an embedded DuckDB file, or a schema of the engine. */
  rollups: z
    .strictObject({
      store: z.enum(['duckdb', 'engine']).default('duckdb'),
      /** For store: duckdb, the file (default .tally/rollups.duckdb). */
      path: z.string().min(1).optional(),
      schema: identifier.optional(),
      /** Named refresh schedules (cron expressions) that rollups' `refresh.schedule` may name. */
      schedules: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'a schedule name is lower_snake_case'), z.string().min(1)).optional(),
    })
    .refine((r) => r.store === 'duckdb' || r.path === undefined, { message: "'path' is for store: duckdb; a store in the engine takes 'schema' only", path: ['path'] })
    .optional(),
});

/** The check state store of a project: tally.yml's `state`, else `.tally/state.duckdb` under it. */
export function stateConfigOf(config: TallyConfig, dir: string): StateConfig {
  return config.state ?? { type: 'duckdb', path: resolve(dir, DEFAULT_STATE_PATH) };
}

/** The rollup store of a project: tally.yml's `rollups`, else `.tally/rollups.duckdb` under it. */
export function rollupStoreConfigOf(config: TallyConfig, dir: string): RollupStoreConfig {
  return config.rollups ?? { store: 'duckdb', path: resolve(dir, DEFAULT_ROLLUP_PATH), schema: DEFAULT_ROLLUP_SCHEMA };
}

/** Keys that would put a secret (or a whole connection string) in the file. */
const SECRET_KEYS = ['password', 'url', 'uri', 'dsn', 'connection_string', 'connectionString', 'user', 'username', 'token', 'secret'];

export function defaultEngine(type: EngineConfig['type']): EngineConfig {
  if (type === 'trino') return { type, urlEnv: DEFAULT_TRINO_URL_ENV, userEnv: DEFAULT_TRINO_USER_ENV, catalog: 'memory', schema: 'default' };
  return type === 'duckdb' ? { type, path: DEFAULT_DUCKDB_PATH } : { type, urlEnv: DEFAULT_PG_URL_ENV, urlEnvConfigured: false };
}

/** Reads `dir/tally.yml`; without one, embedded DuckDB on the demo database. */
export function loadConfig(dir: string): TallyConfig {
  const path = join(dir, CONFIG_FILE);
  if (!existsSync(path)) return { engine: defaultEngine('duckdb'), dialect: 'duckdb' };
  const display = relative(process.cwd(), path) || path;
  return parseConfig(display, readFileSync(path, 'utf8'), dir);
}

/** Parses config text (shown as `display` in messages); relative paths are taken from `dir`. */
export function parseConfig(display: string, text: string, dir = '.'): TallyConfig {
  const { file, data, problems } = parseYamlFile(display, text);
  if (problems.length) throw new DefinitionError(problems);
  const secretProblems = secretKeys(data).map((path): DefinitionProblem =>
    problemAtPath(
      file,
      path,
      path[0] === 'auth'
        ? `'${String(path[path.length - 1])}' would put a secret in ${CONFIG_FILE}, which is committed; write an API key's hash (hash: sha256:…, printed by \`tally key create\`) and name the JWT secret's environment variable (jwt.secret_env)`
        : isTrino(data)
          ? `'${String(path[path.length - 1])}' would put a connection secret in ${CONFIG_FILE}, which is committed; put it in an environment variable and name that with url_env, user_env or password_env (defaults ${DEFAULT_TRINO_URL_ENV}, ${DEFAULT_TRINO_USER_ENV})`
          : `'${String(path[path.length - 1])}' would put a connection secret in ${CONFIG_FILE}, which is committed; put the connection URL in an environment variable and name it with url_env (for example url_env: ${DEFAULT_PG_URL_ENV})`,
      true,
    ),
  );
  if (secretProblems.length) throw new DefinitionError(secretProblems);
  const result = configSchema.safeParse(data);
  if (!result.success) {
    throw new DefinitionError(result.error.issues.map((issue) => zodProblem(file, issue, 'The engine `type` must be duckdb, postgres or trino, with the keys that type takes')));
  }
  const engine = result.data.engine;
  let config: EngineConfig;
  if (!engine || engine.type === 'duckdb') {
    config = { type: 'duckdb', path: engine?.path ? resolve(dir, engine.path) : DEFAULT_DUCKDB_PATH };
  } else if (engine.type === 'trino') {
    config = {
      type: 'trino',
      urlEnv: engine.url_env ?? DEFAULT_TRINO_URL_ENV,
      userEnv: engine.user_env ?? DEFAULT_TRINO_USER_ENV,
      passwordEnv: engine.password_env,
      catalog: engine.catalog ?? 'memory',
      schema: engine.schema ?? 'default',
    };
  } else {
    config = {
      type: 'postgres',
      urlEnv: engine.url_env ?? DEFAULT_PG_URL_ENV,
      urlEnvConfigured: engine.url_env !== undefined,
      schema: engine.schema,
      maxConnections: engine.max_connections,
    };
  }
  const auth = result.data.auth;
  // Without an auth section, tally.yml serves nobody: anonymous access must be asked for.
  const resolvedAuth: AuthConfig = auth
    ? { ...auth, api_keys_file: auth.api_keys_file && resolve(dir, auth.api_keys_file), jwt: auth.jwt && { ...auth.jwt, jwks_file: auth.jwt.jwks_file && resolve(dir, auth.jwt.jwks_file) } }
    : authSchema.parse({});
  const schedule = result.data.checks?.schedule;
  const cronError = schedule === undefined ? undefined : cronProblem(schedule);
  if (cronError) throw new DefinitionError([problemAtPath(file, ['checks', 'schedule'], `'${schedule}' is not a cron expression (${cronError}); write five fields, like "0 * * * *" for every hour`)]);
  const zone = result.data.checks?.time_zone;
  if (zone !== undefined && !isTimeZone(zone)) throw new DefinitionError([problemAtPath(file, ['checks', 'time_zone'], `unknown time zone '${zone}'; use an IANA name such as 'UTC' or 'Europe/Berlin'`)]);
  const state = result.data.state;
  const stateConfig: StateConfig | undefined = !state
    ? undefined
    : state.type === 'duckdb'
      ? { type: 'duckdb', path: resolve(dir, state.path ?? DEFAULT_STATE_PATH) }
      : { type: 'postgres', urlEnv: state.url_env ?? DEFAULT_PG_URL_ENV, schema: state.schema };
  const rollups = result.data.rollups;
  const rollupConfig: RollupStoreConfig | undefined = !rollups
    ? undefined
    : rollups.store === 'duckdb'
      ? { store: 'duckdb', path: resolve(dir, rollups.path ?? DEFAULT_ROLLUP_PATH), schema: rollups.schema ?? DEFAULT_ROLLUP_SCHEMA }
      : { store: 'engine', schema: rollups.schema ?? DEFAULT_ROLLUP_SCHEMA };
  for (const [name, cron] of Object.entries(rollups?.schedules ?? {})) {
    const problem = cronProblem(cron);
    if (problem) throw new DefinitionError([problemAtPath(file, ['rollups', 'schedules', name], `'${cron}' is not a cron expression (${problem}); write five fields, like "0 * * * *" for every hour`)]);
  }
  return { file: display, ...(rollupConfig ? { rollups: rollupConfig } : {}), ...(rollups?.schedules ? { rollupSchedules: rollups.schedules } : {}), engine: config, dialect: result.data.dialect ?? config.type, auth: resolvedAuth, limits: result.data.limits, state: stateConfig, checks: result.data.checks && { schedule, timeZone: zone }, ...(result.data.server ? { corsOrigins: result.data.server.cors_origins } : {}) };
}

function isTrino(data: unknown): boolean {
  const engine = data && typeof data === 'object' ? (data as Record<string, unknown>).engine : undefined;
  return !!engine && typeof engine === 'object' && (engine as Record<string, unknown>).type === 'trino';
}

function secretKeys(data: unknown): (string | number)[][] {
  if (!data || typeof data !== 'object') return [];
  const engine = (data as Record<string, unknown>).engine;
  const out: (string | number)[][] = [];
  if (engine && typeof engine === 'object') {
    out.push(
      ...Object.keys(engine)
        .filter((k) => SECRET_KEYS.includes(k))
        .map((k) => ['engine', k]),
    );
  }
  const state = (data as Record<string, unknown>).state;
  if (state && typeof state === 'object') out.push(...Object.keys(state).filter((k) => SECRET_KEYS.includes(k)).map((k) => ['state', k]));
  // Under auth: an API key or a JWT secret written out instead of its hash or its variable.
  const auth = (data as Record<string, unknown>).auth;
  const under = (value: unknown, path: (string | number)[]): void => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return;
    for (const k of Object.keys(value)) if (AUTH_SECRET_KEYS.includes(k)) out.push([...path, k]);
  };
  if (auth && typeof auth === 'object') {
    under(auth, ['auth']);
    under((auth as Record<string, unknown>).jwt, ['auth', 'jwt']);
    const keys = (auth as Record<string, unknown>).api_keys;
    if (Array.isArray(keys)) keys.forEach((k, i) => under(k, ['auth', 'api_keys', i]));
  }
  return out;
}
