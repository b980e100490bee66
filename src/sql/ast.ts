/**
 * A small SQL tree: what the planner lowers to and the dialects render. Semantic operations whose
 * spelling differs between engines (truncating to a grain, time zones, intervals, safe division,
 * percentiles, the time spine) are nodes of their own, so that only the dialect modules know SQL
 * spellings.
 */
import type { AggregationType, DatePart, Grain } from '../definitions/schema.js';

export type SqlLiteral =
  | { kind: 'string'; value: string }
  | { kind: 'number'; text: string }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  | { kind: 'timestamp'; value: string } // 'YYYY-MM-DD HH:MM:SS', validated by the caller
  | { kind: 'date'; value: string }; // 'YYYY-MM-DD'

export type SqlExpr =
  | { t: 'column'; table?: string; name: string }
  /** SQL written by an analyst in the definitions (a model-scope expression); never request text. */
  | { t: 'definition'; sql: string }
  | { t: 'literal'; value: SqlLiteral }
  | { t: 'binary'; op: '=' | '<>' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/' | '%'; left: SqlExpr; right: SqlExpr }
  | { t: 'and' | 'or'; args: SqlExpr[] }
  | { t: 'not'; arg: SqlExpr }
  | { t: 'negate'; arg: SqlExpr }
  | { t: 'in'; arg: SqlExpr; list: SqlExpr[]; negated: boolean }
  | { t: 'between'; arg: SqlExpr; low: SqlExpr; high: SqlExpr; negated: boolean }
  | { t: 'like'; arg: SqlExpr; pattern: SqlExpr; negated: boolean; caseInsensitive: boolean }
  | { t: 'isNull'; arg: SqlExpr; negated: boolean }
  | { t: 'textMatch'; arg: SqlExpr; value: string; at: 'anywhere' | 'start' | 'end' }
  | { t: 'case'; branches: { when: SqlExpr; then: SqlExpr }[]; otherwise?: SqlExpr }
  /** A scalar function that every dialect spells the same (the names come from code, never users). */
  | { t: 'call'; fn: string; args: SqlExpr[] }
  | { t: 'coalesce'; args: SqlExpr[] }
  | { t: 'aggregate'; agg: AggregationType | 'count_star'; arg?: SqlExpr; filter?: SqlExpr; percentile?: number; discrete?: boolean; approximate?: boolean }
  /** numerator / denominator as a fraction, NULL when the denominator is 0. */
  | { t: 'ratio'; numerator: SqlExpr; denominator: SqlExpr }
  | { t: 'truncate'; grain: Grain; arg: SqlExpr }
  /** A part of a time as a number (ISO: weeks and days of week start on Monday, Monday is 1). */
  | { t: 'extract'; part: DatePart; arg: SqlExpr }
  /** A naive UTC timestamp seen as wall-clock time in `zone`. */
  | { t: 'toZone'; zone: string; arg: SqlExpr }
  | { t: 'addInterval'; arg: SqlExpr; count: number; grain: Grain }
  | { t: 'castTimestamp'; arg: SqlExpr }
  /** A conversion that gives NULL where the value does not convert, never an error. */
  | { t: 'tryCast'; arg: SqlExpr; to: 'text' | 'number' | 'boolean' }
  | { t: 'castDate'; arg: SqlExpr }
  /** A whole number typed as the engine types COUNT (a sum of counts read from a rollup, which SUM widens). */
  | { t: 'castCount'; arg: SqlExpr }
  | { t: 'window'; fn: 'sum' | 'row_number' | 'max' | 'min' | 'count' | 'lag' | 'lead'; arg?: SqlExpr; partitionBy: SqlExpr[]; orderBy: OrderItem[]; frame?: 'unbounded_to_current'; /** For lag and lead: how many rows back or ahead (1 when absent). */ offset?: number }
  | { t: 'subquery'; query: Query }
  /** NULL of the type of `column` in CTE `cte` (fixes the column types of a UNION ALL's first branch). */
  | { t: 'nullOf'; cte: string; column: string };

export interface OrderItem {
  expr: SqlExpr;
  desc?: boolean;
  /** Where NULLs sort; absent: the engine's default, which differs between engines and directions. */
  nulls?: 'first' | 'last';
}

export type FromItem =
  | { t: 'table'; name: string; alias: string }
  | { t: 'sql'; sql: string; alias: string } // a model defined by SQL in the definitions
  | { t: 'query'; query: Query; alias: string }
  | { t: 'cte'; name: string; alias?: string }
  /** One row per `grain` from start to stop inclusive, in a column `column`. */
  | { t: 'series'; start: SqlExpr; stop: SqlExpr; grain: Grain; alias: string; column: string };

export interface Join {
  type: 'inner' | 'left' | 'full' | 'cross';
  item: FromItem;
  on?: SqlExpr;
}

export interface SelectColumn {
  expr: SqlExpr;
  alias: string;
}

export interface Select {
  t: 'select';
  distinct?: boolean;
  columns: SelectColumn[];
  from?: FromItem;
  joins?: Join[];
  where?: SqlExpr;
  groupBy?: SqlExpr[];
  having?: SqlExpr;
  orderBy?: OrderItem[];
  limit?: number;
}

export interface UnionAll {
  t: 'union_all';
  queries: Query[];
  /**
   * Branches matched by column name: each branch may leave columns out, and they are NULL there.
   * `columns` is the full list in order; `firstBranchNull` says how the first branch spells a
   * missing column where a bare NULL would not carry its type.
   */
  byName?: { columns: string[]; firstBranchNull?: Record<string, SqlExpr> };
}

export type Query = Select | UnionAll;

export interface Cte {
  name: string;
  query: Query;
  /** Why this step exists, printed as a comment above it for reviewers. */
  comment?: string;
}

export interface Statement {
  ctes: Cte[];
  body: Query;
}

// Small constructors keep the planner readable.
export const col = (table: string | undefined, name: string): SqlExpr => ({ t: 'column', table, name });
export const str = (value: string): SqlExpr => ({ t: 'literal', value: { kind: 'string', value } });
export const num = (n: number | string): SqlExpr => ({ t: 'literal', value: { kind: 'number', text: String(n) } });
export const and = (args: SqlExpr[]): SqlExpr | undefined =>
  args.length === 0 ? undefined : args.length === 1 ? args[0] : { t: 'and', args };
export const eq = (left: SqlExpr, right: SqlExpr): SqlExpr => ({ t: 'binary', op: '=', left, right });
