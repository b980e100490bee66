/**
 * Postgres through node-postgres (pg), with a connection pool. Values are read exactly: int8 is a
 * number when it fits in 2^53 and a bigint beyond, numeric an exact decimal string, dates and
 * timestamps the text Postgres prints (the session's DateStyle is fixed to ISO for that).
 *
 * A timeout is enforced by the server (statement_timeout); an AbortSignal cancels the running
 * statement with pg_cancel_backend. Connection details may hold a password, so every message that
 * leaves this module is passed through `redact`.
 */
import pg from 'pg';
import { engineError, TallyError } from '../errors.js';
import { postgres } from '../sql/dialects/postgres.js';
import type { Cell, ColumnInfo, Engine, QueryOptions, ResultSet } from './engine.js';

export interface PostgresEngineOptions {
  /** postgres://user:password@host:port/database; absent: the libpq variables PGHOST, PGUSER… */
  connectionString?: string;
  /** Where the connection details came from, for messages (e.g. "$TALLY_PG_URL"); never the details. */
  source?: string;
  /** search_path for every connection. */
  schema?: string;
  /** Pool size (default 4). */
  maxConnections?: number;
}

/** The statements of a transaction, for loaders (see seed). */
export type Execute = (sql: string, params?: unknown[]) => Promise<void>;

const SQLSTATE_QUERY_CANCELED = '57014';

const TYPE_NAMES: Record<number, string> = {
  16: 'BOOLEAN',
  19: 'NAME',
  20: 'BIGINT',
  21: 'SMALLINT',
  23: 'INTEGER',
  25: 'TEXT',
  26: 'OID',
  114: 'JSON',
  700: 'REAL',
  701: 'DOUBLE PRECISION',
  1042: 'CHAR',
  1043: 'VARCHAR',
  1082: 'DATE',
  1083: 'TIME',
  1114: 'TIMESTAMP',
  1184: 'TIMESTAMP WITH TIME ZONE',
  1186: 'INTERVAL',
  1700: 'NUMERIC',
  2950: 'UUID',
  3802: 'JSONB',
};

function int8(text: string): number | bigint {
  const n = BigInt(text);
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/** Text-format parsers: exact numbers, and every other type as the text Postgres sent. */
function parserFor(oid: number): (text: string) => Cell {
  switch (oid) {
    case 16:
      return (t) => t === 't';
    case 20:
      return int8;
    case 21:
    case 23:
    case 26:
      return (t) => Number(t);
    case 700:
    case 701:
      return (t) => Number.parseFloat(t);
    default:
      // numeric, date, timestamp, text, intervals, arrays, JSON…: the exact text.
      return (t) => t;
  }
}

const TYPES = { getTypeParser: ((oid: number) => parserFor(oid)) as unknown as typeof pg.types.getTypeParser };

function typeName(field: pg.FieldDef): string {
  const name = TYPE_NAMES[field.dataTypeID] ?? 'UNKNOWN';
  if (field.dataTypeID === 1700 && field.dataTypeModifier > 4) {
    const mod = field.dataTypeModifier - 4;
    return `NUMERIC(${(mod >> 16) & 0xffff},${mod & 0xffff})`;
  }
  return name;
}

/**
 * Postgres sums int8 into numeric (DuckDB: HUGEINT). A numeric without a declared scale that
 * holds a whole number is such a sum of integers and is read as one; numerics with a scale
 * (SUM of a DECIMAL(12,2) column keeps it: '3.00') stay exact decimal strings.
 */
function integralSums(fields: pg.FieldDef[], rows: Cell[][]): Cell[][] {
  const columns = fields.flatMap((f, i) => (f.dataTypeID === 1700 && f.dataTypeModifier === -1 ? [i] : []));
  if (columns.length === 0) return rows;
  for (const row of rows) {
    for (const i of columns) {
      const v = row[i];
      if (typeof v === 'string' && /^-?\d+$/.test(v)) row[i] = int8(v);
    }
  }
  return rows;
}

/** Removes connection strings and passwords from a message. */
export function redactor(connectionString: string | undefined): (text: string) => string {
  const secrets = new Set<string>();
  if (connectionString) {
    secrets.add(connectionString);
    try {
      const url = new URL(connectionString);
      if (url.password) {
        secrets.add(url.password);
        secrets.add(decodeURIComponent(url.password));
      }
      const password = url.searchParams.get('password');
      if (password) secrets.add(password);
    } catch {
      // not a URL (a key=value string): the whole string is still redacted
    }
  }
  if (process.env.PGPASSWORD) secrets.add(process.env.PGPASSWORD);
  const ordered = [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  return (text) => ordered.reduce((t, s) => t.split(s).join('[redacted]'), text);
}

/**
 * Whether an error means the server cannot be reached or went away (stopped, restarted, network
 * lost), as opposed to a problem with the statement: the connection is then dropped, the error is
 * ENGINE_UNAVAILABLE, and the pool connects afresh for the next query.
 */
export function isConnectionLost(e: unknown): boolean {
  const state = sqlState(e);
  // 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now.
  if (state && (state.startsWith('08') || ['57P01', '57P02', '57P03'].includes(state))) return true;
  if (state && /^[0-9A-Z]{5}$/.test(state)) return false;
  const message = e instanceof Error ? e.message : String(e);
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(state ?? '') ||
    /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect|Client was closed/i.test(message)
  );
}

function sqlState(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string' ? (e as { code: string }).code : undefined;
}

export class PostgresEngine implements Engine {
  readonly name = 'postgres';
  readonly dialect = postgres;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly config: pg.PoolConfig,
    private readonly source: string,
    private readonly redact: (text: string) => string,
  ) {}

  static async open(options: PostgresEngineOptions = {}): Promise<PostgresEngine> {
    const redact = redactor(options.connectionString);
    const source = options.source ?? (options.connectionString ? 'the connection URL' : 'the PG* environment variables');
    if (options.schema !== undefined && !/^[A-Za-z_][A-Za-z0-9_$]*$/.test(options.schema)) {
      throw new TallyError('ENGINE_ERROR', `Postgres schema '${options.schema}' is not a plain identifier`);
    }
    // Fixed session settings, so that values print the same whatever the server's defaults are.
    const settings = ['-c DateStyle=ISO', '-c TimeZone=UTC', '-c IntervalStyle=postgres', '-c extra_float_digits=3'];
    if (options.schema) settings.push(`-c search_path=${options.schema}`);
    const config: pg.PoolConfig = {
      connectionString: options.connectionString,
      max: options.maxConnections ?? 4,
      application_name: 'tally',
      options: settings.join(' '),
      types: TYPES,
      connectionTimeoutMillis: 30_000,
    };
    const pool = new pg.Pool(config);
    // An idle connection that the server drops must not crash the process.
    pool.on('error', () => undefined);
    // Nor may one that drops while a query holds it (the server stopped mid-request): the query
    // fails with ENGINE_UNAVAILABLE instead and the connection is discarded.
    pool.on('connect', (client) => client.on('error', () => undefined));
    const engine = new PostgresEngine(pool, config, source, redact);
    try {
      const client = await pool.connect();
      client.release();
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw new TallyError('ENGINE_ERROR', `cannot connect to Postgres (from ${source}): ${redact((e as Error).message)}`);
    }
    return engine;
  }

  /**
   * Runs a statement. One whose connection was lost (a pooled connection the server dropped when
   * it restarted) runs once more on a fresh connection within what is left of its timeout: Tally's
   * statements only read, so running one again is harmless.
   */
  async query(sql: string, options: QueryOptions = {}): Promise<ResultSet> {
    const started = Date.now();
    try {
      return await this.run(sql, options);
    } catch (e) {
      if (!(e instanceof TallyError) || e.code !== 'ENGINE_UNAVAILABLE' || options.signal?.aborted) throw e;
      const left = options.timeoutMs === undefined ? undefined : options.timeoutMs - (Date.now() - started);
      if (left !== undefined && left < 1) throw e;
      return this.run(sql, { ...options, timeoutMs: left });
    }
  }

  private async run(sql: string, { timeoutMs, signal }: QueryOptions = {}): Promise<ResultSet> {
    if (signal?.aborted) throw new TallyError('QUERY_CANCELLED', 'the query was cancelled before it started');
    const client = await this.connect();
    let reason: 'cancel' | undefined;
    let cancelling: Promise<void> | undefined;
    const onAbort = (): void => {
      reason = 'cancel';
      cancelling ??= this.cancelBackend(client);
    };
    signal?.addEventListener('abort', onAbort);
    let lost = false;
    try {
      if (timeoutMs) await client.query(`SET statement_timeout = ${Math.max(1, Math.trunc(timeoutMs))}`);
      if (signal?.aborted) throw new TallyError('QUERY_CANCELLED', 'the query was cancelled');
      const result = (await client.query({ text: sql, rowMode: 'array' })) as pg.QueryArrayResult | pg.QueryArrayResult[];
      const last = Array.isArray(result) ? result[result.length - 1] : result;
      const fields = last?.fields ?? [];
      const columns: ColumnInfo[] = fields.map((f) => ({ name: f.name, type: typeName(f) }));
      return { columns, rows: integralSums(fields, (last?.rows ?? []) as Cell[][]) };
    } catch (e) {
      if (e instanceof TallyError) throw e;
      if (sqlState(e) === SQLSTATE_QUERY_CANCELED) {
        if (reason === 'cancel') throw new TallyError('QUERY_CANCELLED', 'the query was cancelled');
        if (timeoutMs) throw new TallyError('QUERY_TIMEOUT', `the query took longer than ${timeoutMs} ms and was stopped; narrow the time range or raise the timeout`);
      }
      if (isConnectionLost(e)) {
        lost = true;
        throw new TallyError('ENGINE_UNAVAILABLE', `Postgres is unavailable (the connection was lost: ${this.redact((e as Error).message)}); retry shortly`);
      }
      throw engineError('Postgres', this.redact((e as Error).message));
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (lost) {
        // A dead connection must never go back to the pool.
        client.release(true);
      } else if (cancelling) {
        // A cancel request may still be in flight: this connection is not reused.
        await cancelling;
        client.release(true);
      } else if (timeoutMs) {
        await client.query('RESET statement_timeout').then(
          () => client.release(),
          () => client.release(true),
        );
      } else {
        client.release();
      }
    }
  }

  /** Runs `work` in one transaction on one connection; rolls back if it throws. */
  async transaction<T>(work: (execute: Execute) => Promise<T>): Promise<T> {
    const client = await this.connect();
    const execute: Execute = async (sql, params) => {
      try {
        await client.query(sql, params);
      } catch (e) {
        throw engineError('Postgres', this.redact((e as Error).message));
      }
    };
    let broken = false;
    try {
      await client.query('BEGIN');
      const out = await work(execute);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw e;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (e) {
      if (isConnectionLost(e)) throw new TallyError('ENGINE_UNAVAILABLE', `Postgres is unavailable: cannot connect (from ${this.source}): ${this.redact((e as Error).message)}; retry shortly`);
      throw new TallyError('ENGINE_ERROR', `cannot connect to Postgres (from ${this.source}): ${this.redact((e as Error).message)}`);
    }
  }

  /** Asks the server, over a separate connection, to cancel what `client` is running. */
  private async cancelBackend(client: pg.PoolClient): Promise<void> {
    const pid = (client as unknown as { processID: number | null }).processID;
    if (!pid) return;
    const canceller = new pg.Client({ ...this.config, types: undefined });
    try {
      await canceller.connect();
      await canceller.query('SELECT pg_cancel_backend($1)', [pid]);
    } catch {
      // Best effort: if the cancel cannot be sent, the query runs to its end or its timeout.
    } finally {
      await canceller.end().catch(() => undefined);
    }
  }
}
