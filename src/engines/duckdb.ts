/** Embedded DuckDB through @duckdb/node-api, reading every value exactly. */
import { existsSync } from 'node:fs';
import { DuckDBConnection, DuckDBDecimalValue, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import { engineError, TallyError } from '../errors.js';
import { duckdb } from '../sql/dialects/duckdb.js';
import type { Cell, Engine, QueryOptions, ResultSet } from './engine.js';

export interface DuckDBEngineOptions {
  /** Database file; ':memory:' for a scratch database. */
  path: string;
  readOnly?: boolean;
  /** Refuse to create a missing file (the default for reading an existing database). */
  mustExist?: boolean;
  /** Connections on the one instance, each running one statement at a time (default 1). */
  connections?: number;
  /** DuckDB's memory_limit, e.g. '2GB' (DuckDB's default, 80% of the machine, when absent). */
  memoryLimit?: string;
  /** DuckDB's threads (every core when absent). */
  threads?: number;
}

/**
 * One DuckDB instance with a few connections: statements on different connections run at the
 * same time (DuckDB runs them in parallel on its threads); more wait for a free connection. A
 * timeout or an AbortSignal interrupts the statement's own connection only.
 */
export class DuckDBEngine implements Engine {
  readonly name = 'duckdb';
  readonly dialect = duckdb;
  private readonly idle: DuckDBConnection[] = [];
  private readonly busy = new Set<DuckDBConnection>();
  private readonly waiting: ((c: DuckDBConnection) => void)[] = [];
  private opened = 0;
  private closing = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    first: DuckDBConnection,
    private readonly maxConnections: number,
  ) {
    this.idle.push(first);
    this.opened = 1;
  }

  static async open(options: DuckDBEngineOptions): Promise<DuckDBEngine> {
    if (options.mustExist && options.path !== ':memory:' && !existsSync(options.path)) {
      throw new TallyError('ENGINE_ERROR', `database file '${options.path}' does not exist; run 'npx tally seed' to create the demo data or pass --db FILE`);
    }
    const settings: Record<string, string> = {};
    if (options.readOnly) settings.access_mode = 'READ_ONLY';
    if (options.memoryLimit) settings.memory_limit = options.memoryLimit;
    if (options.threads) settings.threads = String(options.threads);
    try {
      const instance = await DuckDBInstance.create(options.path, settings);
      const connection = await instance.connect();
      return new DuckDBEngine(instance, connection, Math.max(1, options.connections ?? 1));
    } catch (e) {
      throw new TallyError('ENGINE_ERROR', `cannot open DuckDB database '${options.path}': ${(e as Error).message}`);
    }
  }

  /** A setting's current value, e.g. setting('memory_limit'). */
  async setting(name: string): Promise<string> {
    const result = await this.query(`SELECT current_setting('${name.replace(/[^a-z_]/g, '')}')`);
    return String(result.rows[0][0]);
  }

  async query(sql: string, options: QueryOptions = {}): Promise<ResultSet> {
    if (this.closing) throw new TallyError('ENGINE_UNAVAILABLE', 'the database is being closed; retry shortly');
    const connection = await this.acquire();
    try {
      return await this.run(connection, sql, options);
    } finally {
      this.release(connection);
    }
  }

  private async acquire(): Promise<DuckDBConnection> {
    const free = this.idle.pop();
    if (free) {
      this.busy.add(free);
      return free;
    }
    if (this.opened < this.maxConnections) {
      this.opened += 1;
      try {
        const connection = await this.instance.connect();
        this.busy.add(connection);
        return connection;
      } catch (e) {
        this.opened -= 1;
        throw new TallyError('ENGINE_UNAVAILABLE', `DuckDB cannot open another connection (${(e as Error).message}); retry shortly`);
      }
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(connection: DuckDBConnection): void {
    const next = this.waiting.shift();
    if (next) next(connection);
    else {
      this.busy.delete(connection);
      this.idle.push(connection);
    }
  }

  private async run(connection: DuckDBConnection, sql: string, { timeoutMs, signal }: QueryOptions): Promise<ResultSet> {
    if (signal?.aborted) throw new TallyError('QUERY_CANCELLED', 'the query was cancelled before it started');
    let reason: 'timeout' | 'cancel' | undefined;
    // An interrupt that lands before DuckDB has started the statement is lost, so keep
    // interrupting until the statement ends.
    let repeat: NodeJS.Timeout | undefined;
    const stop = (why: 'timeout' | 'cancel'): void => {
      reason ??= why;
      connection.interrupt();
      repeat ??= setInterval(() => connection.interrupt(), 5);
    };
    const timer = timeoutMs ? setTimeout(() => stop('timeout'), timeoutMs) : undefined;
    const onAbort = (): void => stop('cancel');
    signal?.addEventListener('abort', onAbort);
    try {
      const reader = await connection.runAndReadAll(sql);
      const names = reader.columnNames();
      const types = reader.columnTypes().map((t) => t.toString());
      const rows = reader.getRows().map((row) => row.map(toCell));
      return { columns: names.map((name, i) => ({ name, type: types[i] })), rows };
    } catch (e) {
      if (reason === 'timeout') throw new TallyError('QUERY_TIMEOUT', `the query took longer than ${timeoutMs} ms and was stopped; narrow the time range or raise the timeout`);
      if (reason === 'cancel') throw new TallyError('QUERY_CANCELLED', 'the query was cancelled');
      if (this.closing) throw new TallyError('QUERY_CANCELLED', 'the query was cancelled: the server is shutting down');
      const message = (e as Error).message;
      // The database file cannot be read (truncated, replaced, gone): not the statement's fault.
      if (UNREADABLE.test(message)) throw new TallyError('ENGINE_UNAVAILABLE', `DuckDB cannot read its database (${message}); retry shortly`);
      throw engineError('DuckDB', message);
    } finally {
      if (timer) clearTimeout(timer);
      if (repeat) clearInterval(repeat);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Interrupts running statements (they fail with QUERY_CANCELLED… or ENGINE_ERROR), then closes. */
  async close(): Promise<void> {
    this.closing = true;
    for (const c of this.busy) c.interrupt();
    // Statements end shortly after an interrupt; their connections come back through release.
    const deadline = Date.now() + 5_000;
    while (this.busy.size > 0 && Date.now() < deadline) {
      for (const c of this.busy) c.interrupt();
      await new Promise((r) => setTimeout(r, 5));
    }
    for (const c of [...this.idle, ...this.busy]) c.closeSync();
    this.instance.closeSync();
  }
}

const UNREADABLE = /IO Error|Could not read|database has been invalidated|FATAL Error|Corrupt database|checksum|No such file|Cannot open file|connection (is )?closed/i;

function toCell(value: DuckDBValue): Cell {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'number':
    case 'boolean':
    case 'string':
      return value;
    case 'bigint':
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
    default:
      // DECIMAL, DATE, TIMESTAMP, INTERVAL… print themselves exactly.
      if (value instanceof DuckDBDecimalValue) return value.toString();
      return String(value);
  }
}
