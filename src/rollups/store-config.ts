/**
 * Where rollups are kept, as tally.yml's `rollups:` says (read by src/config.ts). Kept apart from
 * store.ts so that reading the config loads no database client.
 *
 *   rollups:
 *     store: duckdb                  # the default: an embedded DuckDB file serves the rollups
 *     path: .tally/rollups.duckdb
 *   rollups:
 *     store: engine                  # tables in a schema of the engine (the warehouse serves them)
 *     schema: tally_rollups
 */
export type RollupStoreConfig = { store: 'duckdb'; path: string; schema: string } | { store: 'engine'; schema: string };

export const DEFAULT_ROLLUP_PATH = '.tally/rollups.duckdb';
export const DEFAULT_ROLLUP_SCHEMA = 'tally_rollups';
