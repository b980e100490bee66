/**
 * Default values the command line shows in its help. They live here, in a module that imports
 * nothing, so that `tally --help` does not load the engines, the SQL parser or GraphQL.
 */

/** The DuckDB file used when neither tally.yml nor --db names one (relative to the working directory). */
export const DEFAULT_DUCKDB_PATH = '.tally/demo.duckdb';
/** Rows in the demo `events` table that `tally seed` writes by default. */
export const DEFAULT_SEED_EVENTS = 1_000_000;
/** Seed of the demo data's hash-based pseudo-randomness. */
export const DEFAULT_SEED = 42;
