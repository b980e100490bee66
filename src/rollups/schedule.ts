/**
 * Refreshes rollups while a server runs. Each rollup's `refresh.schedule` (a cron expression or
 * the name of one under tally.yml's `rollups: { schedules: … }`; croner, as the data checks'
 * schedule in src/checks/schedule.ts) sets when it is looked at; `refresh.on_freshness` (default
 * true) says what happens then:
 *  - on_freshness: a cheap probe (src/rollups/freshness.ts: the newest time of each source model,
 *    measured as data checks measure freshness) compares with what the last build recorded, and
 *    an incremental refresh runs only for the rollups whose source freshness moved. Without a
 *    schedule the probe runs on `freshnessProbe` (default every 5 minutes).
 *  - without on_freshness: every tick of the schedule refreshes (incremental build).
 * A refresh that is due while one is still going is skipped, not queued. Each refresh is an
 * incremental build into the project's store (buildRollups), published when done; `onBuilt` tells
 * the server, which then reads the new store.
 *
 * Staleness (src/rollups/verify.ts), when given `checks`: every rollup's sources' freshness is
 * compared with its build on `observeSchedule` (default every minute: one MAX per source model),
 * and every partition's source fingerprint is recomputed on `verifySchedule` (default every 10
 * minutes: a scan of the sources), so that rows added or edited since a build make the affected
 * ranges read the base tables until the next build, whatever the rollup's refresh rule.
 */
import { existsSync } from 'node:fs';
import { Cron } from 'croner';
import type { Engine } from '../engines/engine.js';
import { didYouMean, TallyError } from '../errors.js';
import type { Project } from '../project.js';
import { loadConfig, rollupStoreConfigOf } from '../config.js';
import { buildRollups, type BuildOptions } from './build.js';
import { type FreshnessProbe, probeFreshness } from './freshness.js';
import { DataHealth } from '../checks/health.js';
import { definitionFingerprint } from './fingerprint.js';
import { checkFreshness, freshnessCheck, type SourceCheck, type SourceChecks, verifyFingerprints } from './verify.js';
import { openRollupStore } from './store.js';
import type { BuiltRollup, RollupDefinition } from './types.js';

export interface RollupSchedulerOptions {
  /** The project being served now (it changes on reloads). */
  project: () => Project;
  engine: Engine;
  /** tally.yml's named schedules (TallyConfig.rollupSchedules). */
  schedules?: Record<string, string>;
  /** IANA zone the schedules are read in (default UTC). */
  timeZone?: string;
  /** Where to build (default: the project's store, published after each refresh); see BuildOptions.store. */
  store?: BuildOptions['store'];
  /** The database the engine reads (source.ts databaseIdentity), recorded in each build (BuildOptions.source). */
  source?: string;
  /** After each refresh, with its build records. */
  onBuilt?: (records: BuiltRollup[]) => void;
  /** After each freshness probe, with what it found per rollup (before any refresh it causes). */
  onProbe?: (probes: FreshnessProbe[]) => void;
  /** Cron of the freshness probe for on_freshness rollups without a schedule (default every 5 minutes). */
  freshnessProbe?: string;
  /**
   * The build records the probe compares with (a server passes its open rollup store's `list`);
   * default: `store`'s, else the project's store opened for the read (none when it does not exist).
   */
  records?: () => Promise<BuiltRollup[]>;
  log?: (line: string) => void;
  /** Where staleness checks are kept (see the module comment); without it none are made. */
  checks?: SourceChecks;
  /** Cron of the freshness comparison of every built rollup (default every minute). */
  observeSchedule?: string;
  /** Cron of the verification of every built rollup's partition fingerprints (default every 10 minutes). */
  verifySchedule?: string;
}

/**
 * The cron expression of a rollup's schedule: the text itself when it is one (it has fields), else
 * the tally.yml schedule it names. Throws INVALID_DEFINITION for an unknown name, nearest suggested.
 */
export function rollupCron(rollup: RollupDefinition, schedules: Record<string, string> = {}): string | undefined {
  const schedule = rollup.refresh.schedule?.trim();
  if (schedule === undefined || /\s/.test(schedule)) return schedule;
  const cron = schedules[schedule];
  if (cron === undefined) {
    throw new TallyError(
      'INVALID_DEFINITION',
      `${rollup.source.file}:${rollup.source.line}:${rollup.source.col}: rollup '${rollup.name}' is refreshed on schedule '${schedule}', which tally.yml does not define.${didYouMean(schedule, Object.keys(schedules))} Define it under rollups: { schedules: { ${schedule}: "0 * * * *" } } or write a cron expression`,
    );
  }
  return cron;
}

/** Every 5 minutes: the freshness probe of on_freshness rollups that have no schedule. */
export const DEFAULT_FRESHNESS_PROBE = '*/5 * * * *';

/** Every minute: the staleness check by source freshness (one MAX per source model). */
export const DEFAULT_OBSERVE_SCHEDULE = '* * * * *';

/** Every 10 minutes: the staleness check by partition source fingerprints (a scan of the sources). */
export const DEFAULT_VERIFY_SCHEDULE = '*/10 * * * *';

/** Whether a project has anything for a RollupScheduler to do: a rollup with a schedule or refreshed on freshness. */
export function hasScheduledRollups(project: Project): boolean {
  return [...project.graph.rollups.values()].some((r) => r.refresh.schedule !== undefined || r.refresh.onFreshness);
}

export class RollupScheduler {
  private readonly crons: Cron[] = [];
  private running?: Promise<BuiltRollup[] | undefined>;
  private verifying?: Promise<SourceCheck[]>;
  private closed = false;

  constructor(private readonly options: RollupSchedulerOptions) {}

  /**
   * Starts a cron per schedule (rollups sharing one are looked at together): on_freshness rollups
   * are probed and refreshed when their sources moved, the others refreshed. Checks every schedule first.
   */
  start(): void {
    if (this.crons.length || this.closed) return;
    const groups = new Map<string, { cron: string; probe: boolean; names: string[] }>();
    for (const rollup of this.options.project().graph.rollups.values()) {
      const probe = rollup.refresh.onFreshness;
      const cron = rollupCron(rollup, this.options.schedules) ?? (probe ? (this.options.freshnessProbe ?? DEFAULT_FRESHNESS_PROBE) : undefined);
      if (cron === undefined) continue;
      const key = `${cron}\0${probe}`;
      const group = groups.get(key) ?? { cron, probe, names: [] };
      group.names.push(rollup.name);
      groups.set(key, group);
    }
    for (const { cron, probe, names } of groups.values()) {
      const reason = `${probe ? 'freshness probe' : 'schedule'} ${cron}`;
      this.crons.push(new Cron(cron, { timezone: this.options.timeZone ?? 'UTC', protect: true }, () => void (probe ? this.refreshIfMoved(names, reason) : this.refreshNow(names, reason))));
    }
    if (this.options.checks && this.options.project().graph.rollups.size > 0) {
      const zone = { timezone: this.options.timeZone ?? 'UTC', protect: true };
      this.crons.push(new Cron(this.options.observeSchedule ?? DEFAULT_OBSERVE_SCHEDULE, zone, () => void this.observe()));
      this.crons.push(new Cron(this.options.verifySchedule ?? DEFAULT_VERIFY_SCHEDULE, zone, () => void this.verify()));
    }
  }

  /**
   * Stops, then starts again if the project (as it is now: definitions may have been reloaded)
   * has a rollup with a schedule or refreshed on freshness. True when it started.
   */
  restart(): boolean {
    this.stop();
    const project = this.options.project();
    if (this.closed || !(hasScheduledRollups(project) || (this.options.checks && project.graph.rollups.size > 0))) return false;
    this.start();
    return true;
  }

  /** When the next scheduled refresh or probe is due, if there is one. */
  nextRun(): Date | undefined {
    const next = this.crons.map((c) => c.nextRun()).filter((d): d is Date => d instanceof Date);
    return next.sort((a, b) => a.getTime() - b.getTime())[0];
  }

  /**
   * Probes the source freshness of these rollups (all on_freshness ones when absent) against their
   * last build records, and refreshes those whose sources moved. Resolves to the probes and the
   * records of the refresh (absent when nothing moved, or when it was skipped or failed).
   */
  async refreshIfMoved(names?: string[], reason = 'freshness probe'): Promise<{ probes: FreshnessProbe[]; records?: BuiltRollup[] }> {
    if (this.running || this.closed) return { probes: [] };
    const log = (line: string): void => void (this.closed ? undefined : this.options.log?.(line));
    let probes: FreshnessProbe[];
    try {
      const project = this.options.project();
      const rollups = [...project.graph.rollups.values()].filter((r) => r.refresh.onFreshness && (!names || names.includes(r.name)));
      const built = new Map((await this.records(project)).map((r) => [r.name, r]));
      probes = [];
      for (const rollup of rollups) probes.push(await probeFreshness(project.graph, this.options.engine, rollup, built.get(rollup.name)));
    } catch (e) {
      log(`rollups (${reason}) could not be probed: ${(e as Error).message}`);
      return { probes: [] };
    }
    if (this.closed) return { probes };
    this.options.onProbe?.(probes);
    // What the probe saw is also a staleness check: until the refresh is published, the moved ranges read the base tables.
    try {
      const project = this.options.project();
      const built = new Map((await this.records(project)).map((r) => [r.name, r]));
      for (const probe of probes) {
        const record = built.get(probe.rollup);
        const definition = project.graph.rollups.get(probe.rollup);
        if (record && definition) this.options.checks?.record(probe.rollup, freshnessCheck(project.graph, definition, record, probe.now));
      }
    } catch (e) {
      log(`rollup staleness (${reason}) could not be recorded: ${(e as Error).message}`);
    }
    const moved = probes.filter((p) => p.moved);
    if (!moved.length) return { probes };
    const records = await this.refreshNow(
      moved.map((p) => p.rollup),
      `${reason}: ${moved.map((p) => `${p.rollup} (${p.reason})`).join('; ')}`,
    );
    return { probes, ...(records ? { records } : {}) };
  }

  /**
   * Compares each built rollup's sources' freshness now with what its build recorded (all, or
   * `names`) and keeps the checks; resolves to them. Builds from other definitions are skipped
   * (routing never uses them).
   */
  async observe(names?: string[]): Promise<SourceCheck[]> {
    const health = new DataHealth(this.options.engine, undefined, { ttlMs: 30_000 });
    return this.check(names, 'freshness', (project, definition, built) => checkFreshness(project.graph, this.options.engine, definition, built, health));
  }

  /**
   * Recomputes each built rollup's partition source fingerprints (all, or `names`) and keeps the
   * checks: a partition whose source rows were edited since its build reads the base tables
   * until rebuilt. A verification still going is not started again (resolves to no checks).
   */
  verify(names?: string[]): Promise<SourceCheck[]> {
    if (this.verifying) return Promise.resolve([]);
    this.verifying = this.check(names, 'verification', (project, definition, built) => verifyFingerprints(project.graph, this.options.engine, definition, built)).finally(() => (this.verifying = undefined));
    return this.verifying;
  }

  private async check(names: string[] | undefined, what: string, one: (project: Project, definition: RollupDefinition, built: BuiltRollup) => Promise<SourceCheck>): Promise<SourceCheck[]> {
    const checks = this.options.checks;
    if (!checks || this.closed) return [];
    const log = (line: string): void => void (this.closed ? undefined : this.options.log?.(line));
    const out: SourceCheck[] = [];
    try {
      const project = this.options.project();
      for (const built of await this.records(project)) {
        const definition = project.graph.rollups.get(built.name);
        if (!definition || (names && !names.includes(built.name)) || built.fingerprint !== definitionFingerprint(project.graph, built.name)) continue;
        const check = await one(project, definition, built);
        if (this.closed) return out;
        const was = checks.all[built.name]?.[check.kind];
        checks.record(built.name, check);
        out.push(check);
        if (check.stale.length && JSON.stringify(was?.build === check.build ? was.stale : []) !== JSON.stringify(check.stale)) {
          log(`rollup ${built.name} is stale (${what}): ${check.stale.map((s) => `from ${s.start}${s.end ? ` to ${s.end}` : ' on'}: ${s.reason}`).join('; ')}; those ranges read the base tables until it is rebuilt`);
        }
      }
    } catch (e) {
      log(`rollup staleness (${what}) could not be checked: ${(e as Error).message}`);
    }
    return out;
  }

  private async records(project: Project): Promise<BuiltRollup[]> {
    if (this.options.records) return this.options.records();
    if (this.options.store) return this.options.store.list();
    const config = rollupStoreConfigOf(loadConfig(project.dir), project.dir);
    if (config.store === 'duckdb' && (config.path === ':memory:' || !existsSync(config.path))) return [];
    const store = await openRollupStore(config, this.options.engine);
    try {
      return await store.list();
    } finally {
      await store.close();
    }
  }

  /** Refreshes these rollups (all when absent) now unless a refresh is going; resolves to the records (undefined when skipped or failed). */
  refreshNow(names?: string[], reason = 'asked'): Promise<BuiltRollup[] | undefined> {
    if (this.running || this.closed) return Promise.resolve(undefined);
    const log = (line: string): void => void (this.closed ? undefined : this.options.log?.(line));
    this.running = (async () => {
      try {
        const project = this.options.project();
        const known = names?.filter((n) => project.graph.rollups.has(n));
        const records = await buildRollups(project, this.options.engine, { ...(known ? { names: known } : {}), ...(this.options.store ? { store: this.options.store } : {}), ...(this.options.source ? { source: this.options.source } : {}) });
        if (!this.closed) this.options.onBuilt?.(records);
        // The new builds compared with their sources at once: rows that arrived while building are seen.
        if (!this.closed && this.options.checks) void this.observe(records.map((r) => r.name));
        log(`rollups (${reason}): ${records.map((r) => `${r.name} ${r.partitions.length} partitions`).join(', ')}`);
        return records;
      } catch (e) {
        log(`rollups (${reason}) could not be refreshed: ${(e as Error).message}`);
        return undefined;
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  stop(): void {
    for (const c of this.crons) c.stop();
    this.crons.length = 0;
  }

  /**
   * Stops for good (a server shutting down): no more ticks, no refresh starts, and a refresh still
   * running reports nothing (its build is discarded when the engine closes under it).
   */
  shutdown(): void {
    this.closed = true;
    this.stop();
  }
}
