/**
 * Where check results are kept, as tally.yml says (read by src/config.ts). Kept apart from
 * state.ts so that reading the config loads no database client.
 */
export type StateConfig = { type: 'duckdb'; path: string } | { type: 'postgres'; urlEnv: string; schema: string };

export const DEFAULT_STATE_PATH = '.tally/state.duckdb';
