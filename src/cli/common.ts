/** What the CLI's commands share: the library's modules loaded lazily, argument parsers, the engine flags. */
import { InvalidArgumentError, Option } from 'commander';
import type { EngineConfig } from '../config.js';

/** The library's modules, loaded on first use by the command that needs them. */
export const lazy = {
  config: () => import('../config.js'),
  project: () => import('../project.js'),
  compile: () => import('../compile.js'),
  run: () => import('../run.js'),
  output: () => import('../output.js'),
  engines: () => import('../engines/open.js'),
  reopening: () => import('../engines/reopening.js'),
  dialects: () => import('../sql/dialects/index.js'),
  seedDemo: () => import('../seed/demo.js'),
  seedPostgres: () => import('../seed/postgres.js'),
  seedTrino: () => import('../seed/trino.js'),
  rollupSchedule: () => import('../rollups/schedule.js'),
  server: () => import('../api/server.js'),
  limits: () => import('../api/limits.js'),
  log: () => import('../api/log.js'),
  schema: () => import('../api/schema.js'),
  graphql: () => import('graphql'),
  authenticate: () => import('../access/authenticate.js'),
  catalog: () => import('../catalog.js'),
  health: () => import('../checks/health.js'),
  state: () => import('../checks/state.js'),
  schedule: () => import('../checks/schedule.js'),
  rollupSource: () => import('../rollups/source.js'),
};

/** A commander argument parser for a positive whole number. */
export const positive = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
  return n;
};

export interface EngineFlags {
  db?: string;
  engine?: EngineConfig['type'];
}

/** tally.yml's engine, unless --db (a DuckDB file) or --engine says otherwise. */
export async function chosenEngine(o: EngineFlags, projectDir: () => string): Promise<EngineConfig> {
  if (o.db) return { type: 'duckdb', path: o.db };
  const { defaultEngine, loadConfig } = await lazy.config();
  const config = loadConfig(projectDir());
  return o.engine && o.engine !== config.engine.type ? defaultEngine(o.engine) : config.engine;
}

export const engineOption = (): Option => new Option('--engine <type>', 'engine to use instead of the one in tally.yml').choices(['duckdb', 'postgres', 'trino']);
