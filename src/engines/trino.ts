/**
 * Trino over its client REST protocol (POST /v1/statement, then follow `nextUri` until it is gone;
 * a DELETE of `nextUri` cancels the query).
 *
 * Why not the `trino-client` npm package: it parses responses with axios' JSON.parse, which rounds
 * every BIGINT beyond 2^53 before we could see it, it takes no AbortSignal, and it keeps session
 * headers in one object shared by concurrent queries. The protocol itself is small and stable, so
 * this module speaks it with Node's fetch and reads the JSON with lossless-json, which keeps each
 * number's digits.
 *
 * Values are exact: BIGINT is a number when it fits in 2^53 and a bigint beyond; DECIMAL stays the
 * decimal string Trino sends; DATE is 'YYYY-MM-DD' and TIMESTAMP 'YYYY-MM-DD HH:MM:SS[.ffffff]'
 * (trailing zero fractions removed, as DuckDB and Postgres print them).
 *
 * Errors map to Tally's codes by Trino's error name and type; Trino's message text never leaves
 * this module (it can quote table names and values the caller may not see).
 */
import { isSafeNumber, LosslessNumber, parse } from 'lossless-json';
import { TallyError } from '../errors.js';
import { trino } from '../sql/dialects/trino.js';
import type { Cell, ColumnInfo, Engine, QueryOptions, ResultSet } from './engine.js';

export interface TrinoEngineOptions {
  /** The coordinator, e.g. http://127.0.0.1:8080 or https://trino.example.com. */
  server: string;
  catalog: string;
  schema: string;
  /** The Trino user queries run as. */
  user: string;
  /** Password for HTTP basic authentication (Trino accepts it over HTTPS only). */
  password?: string;
  /** Where server and credentials came from, for messages (e.g. "$TALLY_TRINO_URL"). */
  source?: string;
  /** How long one HTTP request may wait for the coordinator (default 60 s). */
  requestTimeoutMs?: number;
}

interface TrinoColumn {
  name: string;
  type: string;
}

interface TrinoError {
  message?: string;
  errorCode?: number;
  errorName?: string;
  errorType?: string;
}

interface TrinoResponse {
  id?: string;
  nextUri?: string;
  columns?: TrinoColumn[];
  data?: unknown[][];
  stats?: { state?: string };
  error?: TrinoError;
}

/** Trino error names that mean the cluster cannot run queries right now. */
const UNAVAILABLE = new Set([
  'SERVER_STARTING_UP',
  'SERVER_SHUTTING_DOWN',
  'NO_NODES_AVAILABLE',
  'REMOTE_TASK_ERROR',
  'REMOTE_HOST_GONE',
  'TOO_MANY_REQUESTS_FAILED',
  'PAGE_TRANSPORT_ERROR',
  'PAGE_TRANSPORT_TIMEOUT',
  'ABANDONED_QUERY',
  'CLUSTER_OUT_OF_MEMORY',
  'QUERY_QUEUE_FULL',
]);
const TIMEOUT = new Set(['EXCEEDED_TIME_LIMIT', 'EXCEEDED_CPU_LIMIT']);
const CANCELLED = new Set(['USER_CANCELED', 'ADMINISTRATIVELY_KILLED']);
/** HTTP statuses the protocol says to retry after a pause. */
const RETRY_STATUS = new Set([502, 503, 504]);

function integer(raw: string): number | bigint {
  const n = BigInt(raw);
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/** 'YYYY-MM-DD HH:MM:SS.ffffff' without a zero fraction, as DuckDB and Postgres print it. */
function timestampText(text: string): string {
  return text.replace(/^(\d{4,}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d*?)0*)?(?=$| )/, (_, base: string, fraction: string | undefined) => (fraction ? `${base}.${fraction}` : base));
}

/** Turns one JSON value of a column of `type` into an exact cell. */
function cell(type: string, value: unknown): Cell {
  if (value === null || value === undefined) return null;
  const base = type.replace(/\(.*$/, '').toLowerCase();
  if (value instanceof LosslessNumber) {
    if (['bigint', 'integer', 'smallint', 'tinyint'].includes(base)) return integer(value.value);
    // decimals arrive as strings; any other number is a double or a real.
    return Number(value.value);
  }
  if (typeof value === 'string') {
    if (base === 'double' || base === 'real') return Number(value === 'Infinity' ? Infinity : value === '-Infinity' ? -Infinity : value === 'NaN' ? NaN : value);
    if (base === 'timestamp') return timestampText(value);
    return value;
  }
  if (typeof value === 'boolean') return value;
  // Arrays, maps and rows: JSON text, with the numbers' digits as sent.
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof LosslessNumber ? (isSafeNumber(v.value) ? Number(v.value) : v.value) : v));
}

/** Trino's type name in upper case, as the other engines report theirs: BIGINT, DECIMAL(38,2), TIMESTAMP(6). */
function typeName(type: string): string {
  return type.toUpperCase().replace(/,\s+/g, ',');
}

export class TrinoEngine implements Engine {
  readonly name = 'trino';
  readonly dialect = trino;
  private readonly headers: Record<string, string>;
  private readonly source: string;

  private constructor(private readonly options: TrinoEngineOptions) {
    this.source = options.source ?? 'the Trino settings';
    this.headers = {
      'X-Trino-User': options.user,
      'X-Trino-Catalog': options.catalog,
      'X-Trino-Schema': options.schema,
      'X-Trino-Source': 'tally',
      'X-Trino-Time-Zone': 'UTC',
      // Without it Trino rounds every timestamp to milliseconds for "legacy" clients.
      'X-Trino-Client-Capabilities': 'PARAMETRIC_DATETIME',
      'Content-Type': 'text/plain; charset=utf-8',
    };
    if (options.password !== undefined) {
      this.headers.Authorization = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`;
    }
  }

  /** Connects and checks that the coordinator answers, the credentials work and the schema exists. */
  static async open(options: TrinoEngineOptions): Promise<TrinoEngine> {
    let url: URL;
    try {
      url = new URL(options.server);
    } catch {
      throw new TallyError('ENGINE_ERROR', `the Trino server from ${options.source ?? 'the settings'} is not a URL; write it as http://host:port or https://host:port`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TallyError('ENGINE_ERROR', `the Trino server from ${options.source ?? 'the settings'} must be an http:// or https:// URL`);
    }
    for (const [what, value] of [['catalog', options.catalog], ['schema', options.schema]] as const) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) throw new TallyError('ENGINE_ERROR', `Trino ${what} '${value}' is not a plain identifier`);
    }
    const engine = new TrinoEngine({ ...options, server: url.origin + url.pathname.replace(/\/+$/, '') });
    try {
      await engine.query('SELECT 1');
    } catch (e) {
      if (e instanceof TallyError) throw new TallyError(e.code, `cannot use Trino (from ${engine.source}): ${e.message}`);
      throw e;
    }
    return engine;
  }

  /**
   * Runs one statement. The timeout is enforced twice: Trino stops the query itself
   * (query_max_run_time), and the client stops waiting and cancels it when the time is up.
   */
  async query(sql: string, { timeoutMs, signal }: QueryOptions = {}): Promise<ResultSet> {
    if (signal?.aborted) throw new TallyError('QUERY_CANCELLED', 'the query was cancelled before it started');
    const local = new AbortController();
    let reason: 'cancel' | 'timeout' | undefined;
    const onAbort = (): void => {
      reason ??= 'cancel';
      local.abort();
    };
    signal?.addEventListener('abort', onAbort);
    const timer =
      timeoutMs !== undefined
        ? setTimeout(() => {
            reason ??= 'timeout';
            local.abort();
          }, Math.max(1, timeoutMs))
        : undefined;
    const headers = { ...this.headers };
    if (timeoutMs !== undefined) headers['X-Trino-Session'] = `query_max_run_time=${Math.max(1, Math.ceil(timeoutMs / 1000) + 1)}s`;
    let nextUri: string | undefined;
    try {
      let response = await this.request(`${this.options.server}/v1/statement`, 'POST', headers, sql, local.signal);
      const columns: ColumnInfo[] = [];
      let trinoColumns: TrinoColumn[] | undefined;
      const rows: Cell[][] = [];
      for (;;) {
        if (response.error) throw this.failure(response.error, timeoutMs);
        if (response.columns && !trinoColumns) {
          trinoColumns = response.columns;
          columns.push(...trinoColumns.map((c) => ({ name: c.name, type: typeName(c.type) })));
        }
        if (response.data) {
          const types = (trinoColumns ?? []).map((c) => c.type);
          for (const raw of response.data) rows.push(raw.map((v, i) => cell(types[i] ?? 'unknown', v)));
        }
        nextUri = response.nextUri;
        if (!nextUri) break;
        response = await this.request(nextUri, 'GET', headers, undefined, local.signal);
      }
      return { columns, rows };
    } catch (e) {
      if (local.signal.aborted) {
        // Stop the query on the cluster: a DELETE of its nextUri cancels it.
        if (nextUri) await this.cancel(nextUri);
        if (reason === 'timeout') throw new TallyError('QUERY_TIMEOUT', `the query took longer than ${timeoutMs} ms and was stopped; narrow the time range or raise the timeout`);
        throw new TallyError('QUERY_CANCELLED', 'the query was cancelled');
      }
      if (nextUri) await this.cancel(nextUri);
      throw e;
    } finally {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    // Each query is its own HTTP exchange: nothing stays open.
  }

  /** DELETE of a query's nextUri: Trino cancels the query. Best effort, bounded in time. */
  private async cancel(nextUri: string): Promise<void> {
    try {
      await fetch(nextUri, { method: 'DELETE', headers: this.headers, signal: AbortSignal.timeout(5_000) });
    } catch {
      // The cluster may be gone; the query then ends with it (or at query_max_run_time).
    }
  }

  private async request(url: string, method: 'GET' | 'POST', headers: Record<string, string>, body: string | undefined, signal: AbortSignal): Promise<TrinoResponse> {
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(url, { method, headers, body, signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.requestTimeoutMs ?? 60_000)]) });
      } catch (e) {
        if (signal.aborted) throw e;
        const cause = (e as { cause?: { code?: string } }).cause?.code;
        throw new TallyError('ENGINE_UNAVAILABLE', `Trino is unavailable: cannot reach the coordinator from ${this.source}${cause ? ` (${cause})` : ''}; retry shortly`);
      }
      if (RETRY_STATUS.has(response.status) && attempt < 5) {
        await response.body?.cancel();
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
        continue;
      }
      if (response.status === 401) throw new TallyError('ENGINE_ERROR', `Trino refused the credentials from ${this.source} (HTTP 401); check the user and the password variable`);
      if (response.status === 403) throw new TallyError('ENGINE_ERROR', `Trino denied access to the user from ${this.source} (HTTP 403)`);
      if (RETRY_STATUS.has(response.status)) throw new TallyError('ENGINE_UNAVAILABLE', `Trino is unavailable (HTTP ${response.status}); retry shortly`);
      if (!response.ok) throw new TallyError('ENGINE_ERROR', `Trino answered HTTP ${response.status} to a query request`);
      const text = await response.text();
      try {
        return parse(text) as TrinoResponse;
      } catch {
        throw new TallyError('ENGINE_ERROR', 'Trino answered with a response that is not the client protocol JSON');
      }
    }
  }

  /** A Trino error as a TallyError: the code from its name and type, never its message text. */
  private failure(error: TrinoError, timeoutMs: number | undefined): TallyError {
    const name = error.errorName ?? 'UNKNOWN';
    if (TIMEOUT.has(name)) {
      return new TallyError('QUERY_TIMEOUT', `the query took longer than ${timeoutMs ?? 'the cluster allows in'} ms and was stopped by Trino; narrow the time range or raise the timeout`);
    }
    if (CANCELLED.has(name)) return new TallyError('QUERY_CANCELLED', 'the query was cancelled on the Trino cluster');
    if (UNAVAILABLE.has(name)) return new TallyError('ENGINE_UNAVAILABLE', `Trino cannot run queries right now (${name}); retry shortly`);
    if (error.errorType === 'INSUFFICIENT_RESOURCES') return new TallyError('ENGINE_UNAVAILABLE', `Trino lacks the resources to run the query (${name}); narrow the request or retry later`);
    if (error.errorType === 'USER_ERROR') {
      return new TallyError('ENGINE_ERROR', `Trino rejected the query (${name}); check that the tables and columns the definitions name exist in the catalog and schema from ${this.source}`);
    }
    return new TallyError('ENGINE_ERROR', `Trino failed to run the query (${error.errorType ?? 'error'} ${name})`);
  }
}
