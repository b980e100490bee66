/** The example project's definitions with extra text (rollups) beside them, loaded from memory, and a demo database with its rollups built. */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBEngine } from '../../src/engines/duckdb.js';
import { projectFromSources, type Project } from '../../src/index.js';
import { buildRollups } from '../../src/rollups/build.js';
import { type OpenRollupSource, rollupSourceOf } from '../../src/rollups/source.js';
import { openRollupStore, type RollupStore } from '../../src/rollups/store.js';
import { seedDemoDatabase } from '../../src/seed/demo.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The example definitions except metrics/rollups.yml, plus `extra` as metrics/test-rollups.yml. */
export function exampleWith(extra: string): Project {
  const dir = path.join(ROOT, 'metrics');
  const sources = readdirSync(dir)
    .filter((f) => f.endsWith('.yml') && f !== 'rollups.yml')
    .sort()
    .map((f) => ({ display: `metrics/${f}`, text: readFileSync(path.join(dir, f), 'utf8') }));
  return projectFromSources([...sources, { display: 'metrics/test-rollups.yml', text: extra }]);
}

/** A seeded demo database (read only), a project's rollups built from it into an in-memory store, and the routing source over them. */
export interface BuiltDemo {
  base: DuckDBEngine;
  store: RollupStore;
  rollups: OpenRollupSource;
  /** Closes the store and the database and removes the temporary directory. */
  close(): Promise<void>;
}

/** Seeds `events` demo events with `seed` in a temporary directory and builds every rollup of `project` from them. */
export async function builtDemo(project: Project, options: { events: number; seed: number; prefix: string }): Promise<BuiltDemo> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `tally-rollup-${options.prefix}-`));
  const file = path.join(dir, 'demo.duckdb');
  await seedDemoDatabase(file, { events: options.events, seed: options.seed });
  const base = await DuckDBEngine.open({ path: file, readOnly: true });
  const store = await openRollupStore({ store: 'duckdb', path: ':memory:', schema: 'tally_rollups' });
  await buildRollups(project, base, { store });
  // As openRollupSource opens it: each build compared with its sources' freshness (nothing changed since).
  const rollups = await rollupSourceOf(project, store, undefined, { freshness: base });
  return {
    base,
    store,
    rollups,
    close: async () => {
      await store.close();
      await base.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
