/**
 * Whether each rollup is built and current: its build record, the fingerprint the current
 * definitions give, and why it is stale (never built, definitions changed). `tally rollup status`
 * prints this; the router (src/rollups/route.ts) never uses a rollup whose fingerprint differs.
 */
import type { Project } from '../project.js';
import { definitionFingerprint } from './fingerprint.js';
import type { RollupStore } from './store.js';
import type { BuiltRollup, RollupDefinition } from './types.js';

export interface RollupStatus {
  name: string;
  definition: RollupDefinition;
  /** The fingerprint of the current definitions. */
  fingerprint: string;
  /** The last build's record, if it was built. */
  built?: BuiltRollup;
  /** True when the build cannot be used as it is: never built, or built from other definitions. */
  stale: boolean;
  /** Why it is stale, or that it is current. */
  reason: string;
}

/** The status of every rollup of the project (or of `names`), in definition order. */
export async function rollupStatus(project: Project, store: RollupStore, names?: string[]): Promise<RollupStatus[]> {
  const records = new Map((await store.list()).map((r) => [r.name, r]));
  const out: RollupStatus[] = [];
  for (const definition of project.graph.rollups.values()) {
    if (names && !names.includes(definition.name)) continue;
    const fingerprint = definitionFingerprint(project.graph, definition.name);
    const built = records.get(definition.name);
    const reason = !built
      ? 'never built; run tally rollup build'
      : built.fingerprint !== fingerprint
        ? `the definitions it reads changed since it was built (fingerprint ${built.fingerprint}, now ${fingerprint}); run tally rollup build`
        : 'current';
    out.push({ name: definition.name, definition, fingerprint, ...(built ? { built } : {}), stale: reason !== 'current', reason });
  }
  return out;
}
