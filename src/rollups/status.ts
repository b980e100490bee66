/**
 * Whether each rollup is built and current: its build record, the fingerprint the current
 * definitions give, and why it is stale (never built, definitions changed, or source rows changed
 * since the build in some ranges, as staleness checks found: src/rollups/verify.ts). `tally rollup
 * status` prints this; the router (src/rollups/route.ts) never uses a rollup whose fingerprint
 * differs, and reads the base tables for its stale ranges.
 */
import type { Project } from '../project.js';
import { definitionFingerprint } from './fingerprint.js';
import type { RollupStore } from './store.js';
import type { BuiltRollup, RollupDefinition } from './types.js';
import { type RollupChecks, type Staleness, stalenessOf } from './verify.js';

export interface RollupStatus {
  name: string;
  definition: RollupDefinition;
  /** The fingerprint of the current definitions. */
  fingerprint: string;
  /** The last build's record, if it was built. */
  built?: BuiltRollup;
  /** True when the build cannot be used as it is: never built, built from other definitions, or some ranges stale (`staleness`). */
  stale: boolean;
  /** Why it is stale, or that it is current. */
  reason: string;
  /** What the checks made against this build found (stale ranges, warnings, when each check ran); absent unless built from the current definitions. */
  staleness?: Staleness;
}

/** The status of every rollup of the project (or of `names`), in definition order, with what `checks` found about each build. */
export async function rollupStatus(project: Project, store: RollupStore, names?: string[], checks: RollupChecks = {}): Promise<RollupStatus[]> {
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
    const staleness = built && reason === 'current' ? stalenessOf(built, checks) : undefined;
    const ranges = staleness?.stale.map((s) => `from ${s.start}${s.end ? ` to ${s.end}` : ' on'} (${s.reason})`) ?? [];
    const why = ranges.length ? `source rows changed since the build: ${ranges.join('; ')}; those ranges read the base tables until tally rollup build` : reason;
    out.push({ name: definition.name, definition, fingerprint, ...(built ? { built } : {}), stale: why !== 'current', reason: why, ...(staleness ? { staleness } : {}) });
  }
  return out;
}
