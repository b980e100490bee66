/**
 * Staleness: whether a built rollup still holds what its source rows give now, and which ranges
 * it must not answer until it is rebuilt (the router then reads the base tables, src/rollups/route.ts).
 * Two checks, both compiled through the planner exactly as the build's own measurements are:
 *
 * - freshness (cheap: MAX of each source's freshness time, freshness.ts): a source whose newest
 *   time differs from the one the build recorded has rows added or removed after the older of the
 *   two times, so every partition from the one holding that time on is stale;
 * - fingerprints (a scan of the sources: the build's own per-partition fingerprint query,
 *   build.ts sourcePartitions): a partition whose source rows no longer give the fingerprint the
 *   build recorded is stale. This sees what freshness cannot: an edited, deleted or late old row.
 *
 * What a change at time t reaches: for parts and finished simple metrics, its own partition; for a
 * finished cumulative metric, every later one too (windows reach forward); for a conversion or
 * another finished metric, the whole rollup (a conversion event counts for earlier bases).
 *
 * A check applies to the build it was made against (buildIdentity): a new build starts clean,
 * since it rebuilt every partition whose fingerprint changed. A server keeps checks in memory; they
 * are also written to a file beside the rollup store (`rollups.duckdb.checks.json`) for other
 * processes (`tally rollup status`, `tally query`). Known limit: an edit of a joined dimension
 * table (a user's country) changes no measure row, so neither check sees it (README "Rollups").
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DataHealth, freshnessDimension } from '../checks/health.js';
import type { Model, SemanticGraph } from '../definitions/graph.js';
import { leafMeasuresOf } from '../definitions/leaves.js';
import type { Engine } from '../engines/engine.js';
import { parseTime } from '../query/time.js';
import { sourcePartitions } from './build.js';
import { changeReach as reachOf, measureSourceFreshness } from './freshness.js';
import type { RollupStoreConfig } from './store-config.js';
import type { BuiltRollup, RollupDefinition } from './types.js';

/** Bucket starts [start, end) whose source rows differ from the build's (end absent: every later one). */
export interface StaleRange {
  start: string;
  end?: string;
  /** Why, in words: which source moved, or which partition's fingerprint changed. */
  reason: string;
}

/** One check of one build of a rollup. */
export interface SourceCheck {
  kind: 'freshness' | 'fingerprints';
  /** The build it looked at (buildIdentity); it says nothing about any other build. */
  build: string;
  /** When that build finished (BuiltRollup.builtAt). */
  builtAt: string;
  /** ISO-8601 instant it was made. */
  checkedAt: string;
  /** Ranges found stale (empty: the sources gave what the build read). */
  stale: StaleRange[];
  /** What it could not check (a source without a freshness time, a source that could not be read). */
  warnings: string[];
  /** Freshness checks: the newest time of each source seen ('YYYY-MM-DD HH:MM:SS', UTC). */
  sourceFreshness?: Record<string, string>;
}

/** The latest check of each kind, by rollup name. */
export type RollupChecks = Record<string, { freshness?: SourceCheck; fingerprints?: SourceCheck }>;

/** What is known about a build's staleness: every check made against it, together. */
export interface Staleness {
  stale: StaleRange[];
  warnings: string[];
  /** When its sources' freshness was last compared with the build (absent: not since it was built). */
  freshnessCheckedAt?: string;
  /** When its partitions' source fingerprints were last compared with the build (absent: not since it was built). */
  verifiedAt?: string;
}

/**
 * Which build a record describes: a hash of when it finished and what it read (each partition's
 * source fingerprint, the sources' freshness), so that two builds finished in the same
 * millisecond are still told apart when they read different rows.
 */
export function buildIdentity(built: BuiltRollup): string {
  const read = { builtAt: built.builtAt, fingerprint: built.fingerprint, sourceFreshness: built.sourceFreshness ?? null, partitions: built.partitions.map((p) => [p.start, p.sourceFingerprint, p.builtAt]) };
  return createHash('sha256').update(JSON.stringify(read)).digest('hex').slice(0, 16);
}

/** Largest distance of a time zone from UTC: a UTC time is never later than this on any wall clock. */
const MAX_ZONE_OFFSET_MS = 14 * 3_600_000;

/** Every model whose rows the rollup's values are computed from (with a freshness time or not). */
function sourceModels(graph: SemanticGraph, rollup: RollupDefinition): Map<string, Model> {
  const models = new Map<string, Model>();
  for (const m of rollup.measures) {
    const measure = graph.measures.get(m.name);
    if (measure) models.set(measure.model.name, measure.model);
  }
  for (const metric of rollup.finishedMetrics) for (const measure of leafMeasuresOf(graph, metric)) models.set(measure.model.name, measure.model);
  return models;
}

/** True when every measure the rollup reads from `model` is placed in time by the model's freshness time (so a newer time is a later bucket). */
function timedByFreshness(graph: SemanticGraph, rollup: RollupDefinition, model: Model): boolean {
  const time = freshnessDimension(model)?.name;
  const measures = [...rollup.measures.map((m) => graph.measures.get(m.name)), ...rollup.finishedMetrics.flatMap((m) => leafMeasuresOf(graph, m))];
  return measures.every((m) => !m || m.model.name !== model.name || m.timeDimension?.name === time);
}

/** The start of the built partition that holds wall-clock time `at` (the first partition when earlier). */
function partitionHolding(built: BuiltRollup, at: Date): string | undefined {
  let holding = built.partitions[0]?.start ?? built.coveredFrom;
  for (const p of built.partitions) if (parseTime(p.start, 'partition') <= at) holding = p.start;
  return holding;
}

/** Everything from `start` on (the whole rollup when `start` is absent). */
function onward(built: BuiltRollup, start: string | undefined, reason: string): StaleRange {
  return { start: start ?? built.coveredFrom ?? '0001-01-01', reason };
}

/**
 * Compares the sources' newest times `now` (measured as the build measured them) with those the
 * build recorded: the ranges that may hold rows the build did not read. Pure.
 */
export function freshnessCheck(graph: SemanticGraph, rollup: RollupDefinition, built: BuiltRollup, now: Record<string, string>, at = new Date()): SourceCheck {
  const check: SourceCheck = { kind: 'freshness', build: buildIdentity(built), builtAt: built.builtAt, checkedAt: at.toISOString(), stale: [], warnings: [], sourceFreshness: now };
  if (!built.sourceFreshness) {
    check.stale.push(onward(built, undefined, 'its build recorded no source freshness to compare with'));
    return check;
  }
  const reach = reachOf(graph, rollup);
  for (const model of sourceModels(graph, rollup).values()) {
    if (!freshnessDimension(model)) {
      check.warnings.push(`model '${model.name}' has no time dimension to measure its freshness by: rows added since the build (${built.builtAt}) are found only by verifying partition fingerprints`);
      continue;
    }
    const before = built.sourceFreshness[model.name];
    const after = now[model.name];
    if (before === after) continue;
    const reason = `the newest '${model.name}' row moved from ${before ?? 'none'} to ${after ?? 'none (no rows, or it could not be read)'} since the build`;
    if (before === undefined || after === undefined || reach === 'all' || !timedByFreshness(graph, rollup, model)) {
      check.stale.push(onward(built, undefined, reason));
      continue;
    }
    // Rows after the older of the two times changed; in the rollup's zone that time is at most 14 hours earlier.
    const earliest = parseTime(before < after ? before : after, 'freshness');
    check.stale.push(onward(built, partitionHolding(built, new Date(earliest.getTime() - MAX_ZONE_OFFSET_MS)), reason));
  }
  return check;
}

/** Measures the sources' freshness now on `engine` and compares it with the build's (see freshnessCheck). */
export async function checkFreshness(graph: SemanticGraph, engine: Engine, rollup: RollupDefinition, built: BuiltRollup, health?: DataHealth): Promise<SourceCheck> {
  return freshnessCheck(graph, rollup, built, await measureSourceFreshness(graph, engine, rollup, health ?? new DataHealth(engine, undefined, { ttlMs: 0 })));
}

/**
 * Recomputes every partition's source fingerprint on `engine` (the build's own query) and compares
 * it with the one the build recorded: a partition that differs is stale, with what reaches from it.
 */
export async function verifyFingerprints(graph: SemanticGraph, engine: Engine, rollup: RollupDefinition, built: BuiltRollup, at?: () => Date): Promise<SourceCheck> {
  const sources = new Map((await sourcePartitions(graph, engine, rollup)).map((s) => [s.start, s.fingerprint]));
  const check: SourceCheck = { kind: 'fingerprints', build: buildIdentity(built), builtAt: built.builtAt, checkedAt: (at?.() ?? new Date()).toISOString(), stale: [], warnings: [] };
  const reach = reachOf(graph, rollup);
  const partitions = [...built.partitions].sort((a, b) => a.start.localeCompare(b.start));
  partitions.forEach((p, i) => {
    const now = sources.get(p.start) ?? 'no rows';
    if (now === p.sourceFingerprint) return;
    const reason = `the source rows of partition ${p.start} changed since it was built at ${p.builtAt} (fingerprint ${p.sourceFingerprint} → ${now})`;
    if (reach === 'all') check.stale.push(onward(built, undefined, reason));
    else if (reach === 'onward') check.stale.push(onward(built, p.start, reason));
    else check.stale.push({ start: p.start, ...((partitions[i + 1]?.start ?? built.coveredTo) ? { end: partitions[i + 1]?.start ?? built.coveredTo } : {}), reason });
  });
  return check;
}

/** Every check made against this very build, together. */
export function stalenessOf(built: BuiltRollup, checks: RollupChecks): Staleness {
  const kept = checks[built.name] ?? {};
  const build = buildIdentity(built);
  const freshness = kept.freshness?.build === build ? kept.freshness : undefined;
  const fingerprints = kept.fingerprints?.build === build ? kept.fingerprints : undefined;
  return {
    stale: [...(freshness?.stale ?? []), ...(fingerprints?.stale ?? [])],
    warnings: [...(freshness?.warnings ?? []), ...(fingerprints?.warnings ?? [])],
    ...(freshness ? { freshnessCheckedAt: freshness.checkedAt } : {}),
    ...(fingerprints ? { verifiedAt: fingerprints.checkedAt } : {}),
  };
}

/**
 * Build records as routing reads them: each with the stale ranges and warnings its checks found,
 * and when they were made (BuiltRollup.stale, .warnings, .checkedAt). A build whose sources'
 * freshness was never compared with it carries a warning: rows added since it was built would not
 * be seen.
 */
export function withStaleness(built: BuiltRollup[], checks: RollupChecks): BuiltRollup[] {
  return built.map((b) => {
    const { stale, warnings, freshnessCheckedAt, verifiedAt } = stalenessOf(b, checks);
    if (!freshnessCheckedAt) warnings.push(`its sources were not compared with it since it was built at ${b.builtAt}: rows added or edited since then would not be reflected`);
    const checkedAt = { ...(freshnessCheckedAt ? { freshness: freshnessCheckedAt } : {}), ...(verifiedAt ? { fingerprints: verifiedAt } : {}) };
    return { ...b, ...(stale.length ? { stale } : {}), ...(warnings.length ? { warnings } : {}), ...(freshnessCheckedAt || verifiedAt ? { checkedAt } : {}) };
  });
}

/**
 * The file beside a rollup store that keeps its checks: `<store file>.checks.json` for an embedded
 * store, `.tally/rollups-<schema>.checks.json` under the project for a store in the engine;
 * undefined for a store in memory.
 */
export function checksPathOf(config: RollupStoreConfig, dir: string): string | undefined {
  if (config.store === 'duckdb') return config.path === ':memory:' ? undefined : `${config.path}.checks.json`;
  return resolve(dir, '.tally', `rollups-${config.schema}.checks.json`);
}

/** The checks kept in a file; none when it is absent or unreadable (a check is only ever an extra reason not to serve). */
export function readChecks(path: string | undefined): RollupChecks {
  if (!path || !existsSync(path)) return {};
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as RollupChecks) : {};
  } catch {
    return {};
  }
}

/**
 * Keeps `checks` in the file, merged with what another process wrote meanwhile (per rollup and
 * kind, the newer check wins), through a copy renamed into place so that a reader never sees half.
 */
export function writeChecks(path: string, checks: RollupChecks): RollupChecks {
  const merged: RollupChecks = readChecks(path);
  for (const [name, kinds] of Object.entries(checks)) {
    const into = (merged[name] ??= {});
    for (const kind of ['freshness', 'fingerprints'] as const) {
      const check = kinds[kind];
      if (check && (!into[kind] || into[kind].checkedAt <= check.checkedAt)) into[kind] = check;
    }
  }
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(merged, null, 2));
  renameSync(temporary, path);
  return merged;
}

/**
 * The checks a long-running process keeps (a server): the latest of each kind per rollup, written
 * to the checks file when there is one. `version` moves whenever what routing reads (stale ranges,
 * warnings) changes, so that a reader knows when to look again.
 */
export class SourceChecks {
  private checks: RollupChecks;
  private changes = 0;
  /** The checks file as last read (its modification time), so that checks another process keeps there are seen. */
  private seen?: number;

  constructor(private readonly file?: string) {
    this.checks = readChecks(file);
    this.seen = this.modified();
  }

  private modified(): number | undefined {
    try {
      return this.file ? statSync(this.file).mtimeMs : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Moves when a check changes what routing reads: one made here, or one another process kept in
   * the checks file (`tally rollup status --verify`), which is then read again (a stat per call).
   */
  get version(): number {
    const modified = this.modified();
    if (modified !== this.seen) {
      this.seen = modified;
      const before = this.signature();
      const merged = readChecks(this.file);
      for (const [name, kinds] of Object.entries(this.checks)) {
        for (const kind of ['freshness', 'fingerprints'] as const) {
          const mine = kinds[kind];
          if (mine && (!merged[name]?.[kind] || (merged[name][kind]?.checkedAt ?? '') < mine.checkedAt)) merged[name] = { ...merged[name], [kind]: mine };
        }
      }
      this.checks = merged;
      if (this.signature() !== before) this.changes += 1;
    }
    return this.changes;
  }

  get all(): RollupChecks {
    return this.checks;
  }

  /** What routing reads of the checks: per rollup and kind, the build, the stale ranges and the warnings. */
  private signature(): string {
    return JSON.stringify(Object.entries(this.checks).map(([name, kinds]) => [name, ...(['freshness', 'fingerprints'] as const).map((k) => kinds[k] && [kinds[k].build, kinds[k].stale, kinds[k].warnings])]));
  }

  /** Keeps a rollup's newest check of its kind (and writes the file). */
  record(rollup: string, check: SourceCheck): void {
    const before = this.signature();
    const kept = { ...this.checks, [rollup]: { ...this.checks[rollup], [check.kind]: check } };
    this.checks = kept;
    if (this.file) {
      try {
        this.checks = writeChecks(this.file, { [rollup]: kept[rollup] });
        this.seen = this.modified();
      } catch {
        // The file is for other processes; this one keeps its checks in memory whatever happens to it.
      }
    }
    if (this.signature() !== before) this.changes += 1;
  }

  /** Build records with what the checks found (see withStaleness). */
  annotate(built: BuiltRollup[]): BuiltRollup[] {
    return withStaleness(built, this.checks);
  }
}
