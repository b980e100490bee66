/**
 * What Tally needs from a database: run one SQL statement with a timeout and cancellation, and
 * hand back values without rounding them.
 */
import type { Dialect } from '../sql/dialect.js';

/**
 * An exact cell value: integers are numbers when they fit in 2^53 and bigints beyond; DECIMALs are
 * exact decimal strings; dates are 'YYYY-MM-DD' and timestamps 'YYYY-MM-DD HH:MM:SS' strings.
 */
export type Cell = string | number | bigint | boolean | null;

export interface ColumnInfo {
  name: string;
  /** The engine's type name, e.g. BIGINT, DECIMAL(38,2), DATE, VARCHAR, DOUBLE. */
  type: string;
}

export interface ResultSet {
  columns: ColumnInfo[];
  rows: Cell[][];
}

export interface QueryOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface Engine {
  readonly name: string;
  readonly dialect: Dialect;
  query(sql: string, options?: QueryOptions): Promise<ResultSet>;
  close(): Promise<void>;
}
