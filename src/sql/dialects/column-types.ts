/**
 * Column types per dialect: the type in each engine that holds exactly the values of a DuckDB
 * column type, used when a table built in DuckDB is copied to another engine (`tally seed
 * --engine postgres|trino`, test fixtures). A type with no exact counterpart is an error, never a
 * silent narrowing; where a counterpart holds fewer values (Trino's DECIMAL stops at 38 digits),
 * the copier checks each value with `decimalHolds`.
 */
import { TallyError } from '../../errors.js';

const DECIMAL = /^DECIMAL\((\d+),\s*(\d+)\)$/i;

function mapped(dialect: string, duckdbType: string, map: Record<string, string>): string {
  const type = map[duckdbType.toUpperCase()];
  if (!type) throw new TallyError('UNSUPPORTED', `no ${dialect} column type holds the DuckDB type ${duckdbType}; cast the column to a type listed in src/sql/dialects/column-types.ts`);
  return type;
}

/** The Postgres type holding exactly the values of a DuckDB column type (HUGEINT: NUMERIC(39,0)). */
export function postgresColumnType(duckdbType: string): string {
  const decimal = DECIMAL.exec(duckdbType);
  if (decimal) return `NUMERIC(${decimal[1]},${decimal[2]})`;
  return mapped('Postgres', duckdbType, {
    BIGINT: 'BIGINT',
    INTEGER: 'INTEGER',
    SMALLINT: 'SMALLINT',
    TINYINT: 'SMALLINT',
    UTINYINT: 'SMALLINT',
    USMALLINT: 'INTEGER',
    UINTEGER: 'BIGINT',
    UBIGINT: 'NUMERIC(20,0)',
    HUGEINT: 'NUMERIC(39,0)',
    VARCHAR: 'VARCHAR',
    BOOLEAN: 'BOOLEAN',
    DOUBLE: 'DOUBLE PRECISION',
    FLOAT: 'REAL',
    DATE: 'DATE',
    TIMESTAMP: 'TIMESTAMP',
  });
}

/**
 * The Trino type for a DuckDB column type. Exact for every type but HUGEINT: Trino's widest
 * DECIMAL has 38 digits and a HUGEINT can have 39 (±1.7e38), so HUGEINT maps to DECIMAL(38,0)
 * and a value with 39 digits is refused when copied (see decimalHolds), never rounded.
 */
export function trinoColumnType(duckdbType: string): string {
  const decimal = DECIMAL.exec(duckdbType);
  if (decimal) return `DECIMAL(${decimal[1]},${decimal[2]})`;
  return mapped('Trino', duckdbType, {
    BIGINT: 'BIGINT',
    INTEGER: 'INTEGER',
    SMALLINT: 'SMALLINT',
    TINYINT: 'TINYINT',
    UTINYINT: 'SMALLINT',
    USMALLINT: 'INTEGER',
    UINTEGER: 'BIGINT',
    UBIGINT: 'DECIMAL(20,0)',
    HUGEINT: 'DECIMAL(38,0)',
    VARCHAR: 'VARCHAR',
    BOOLEAN: 'BOOLEAN',
    DOUBLE: 'DOUBLE',
    FLOAT: 'REAL',
    DATE: 'DATE',
    // Trino's plain TIMESTAMP is TIMESTAMP(3): microseconds would be rounded.
    TIMESTAMP: 'TIMESTAMP(6)',
  });
}

/**
 * Whether a DECIMAL(p,s) column holds a value printed as plain decimal text ('-123.45'): at most
 * p−s digits before the point and s after. True for a type that is not a DECIMAL.
 */
export function decimalHolds(type: string, text: string): boolean {
  const decimal = DECIMAL.exec(type);
  if (!decimal) return true;
  const precision = Number(decimal[1]);
  const scale = Number(decimal[2]);
  const m = /^[-+]?(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m) return false;
  const whole = m[1].replace(/^0+/, '');
  const fraction = (m[2] ?? '').replace(/0+$/, '');
  return whole.length <= precision - scale && fraction.length <= scale;
}
