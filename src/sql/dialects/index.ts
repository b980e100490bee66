/** Every SQL dialect Tally compiles to, by name. */
import { didYouMean, TallyError } from '../../errors.js';
import type { Dialect } from '../dialect.js';
import { bigquery } from './bigquery.js';
import { duckdb } from './duckdb.js';
import { postgres } from './postgres.js';
import { redshift } from './redshift.js';
import { snowflake } from './snowflake.js';
import { trino } from './trino.js';

export const DIALECTS = { duckdb, postgres, bigquery, snowflake, trino, redshift } as const;
export type DialectName = keyof typeof DIALECTS;
export const DIALECT_NAMES = Object.keys(DIALECTS) as DialectName[];

export function isDialectName(name: string): name is DialectName {
  return Object.hasOwn(DIALECTS, name);
}

export function dialectByName(name: string): Dialect {
  if (isDialectName(name)) return DIALECTS[name];
  throw new TallyError('INVALID_REQUEST', `unknown SQL dialect '${name}'.${didYouMean(name, DIALECT_NAMES)} Choose one of ${DIALECT_NAMES.join(', ')}`);
}
