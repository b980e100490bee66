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
}

export class DuckDBEngine implements Engine {
  readonly name = 'duckdb';
  readonly dialect = duckdb;
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  static async open(options: DuckDBEngineOptions): Promise<DuckDBEngine> {
    if (options.mustExist && options.path !== ':memory:' && !existsSync(options.path)) {
      throw new TallyError('ENGINE_ERROR', `database file '${options.path}' does not exist; run 'npx tally seed' to create the demo data or pass --db FILE`);
    }
    try {
      const instance = await DuckDBInstance.create(options.path, options.readOnly ? { access_mode: 'READ_ONLY' } : {});
      const connection = await instance.connect();
      return new DuckDBEngine(instance, connection);
    } catch (e) {
      throw new TallyError('ENGINE_ERROR', `cannot open DuckDB database '${options.path}': ${(e as Error).message}`);
    }
  }

  /** Statements run one at a time on this connection; `interrupt` cancels the running one. */
  private queue: Promise<unknown> = Promise.resolve();

  query(sql: string, options: QueryOptions = {}): Promise<ResultSet> {
    const run = this.queue.then(() => this.run(sql, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(sql: string, { timeoutMs, signal }: QueryOptions): Promise<ResultSet> {
    if (signal?.aborted) throw new TallyError('QUERY_CANCELLED', 'the query was cancelled before it started');
    let reason: 'timeout' | 'cancel' | undefined;
    // An interrupt that lands before DuckDB has started the statement is lost, so keep
    // interrupting until the statement ends.
    let repeat: NodeJS.Timeout | undefined;
    const stop = (why: 'timeout' | 'cancel'): void => {
      reason ??= why;
      this.connection.interrupt();
      repeat ??= setInterval(() => this.connection.interrupt(), 5);
    };
    const timer = timeoutMs ? setTimeout(() => stop('timeout'), timeoutMs) : undefined;
    const onAbort = (): void => stop('cancel');
    signal?.addEventListener('abort', onAbort);
    try {
      const reader = await this.connection.runAndReadAll(sql);
      const names = reader.columnNames();
      const types = reader.columnTypes().map((t) => t.toString());
      const rows = reader.getRows().map((row) => row.map(toCell));
      return { columns: names.map((name, i) => ({ name, type: types[i] })), rows };
    } catch (e) {
      if (reason === 'timeout') throw new TallyError('QUERY_TIMEOUT', `the query took longer than ${timeoutMs} ms and was stopped; narrow the time range or raise the timeout`);
      if (reason === 'cancel') throw new TallyError('QUERY_CANCELLED', 'the query was cancelled');
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

  async close(): Promise<void> {
    await this.queue;
    this.connection.closeSync();
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
