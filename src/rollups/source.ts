/**
 * The rollups a project's requests may be answered from: its rollup store (tally.yml `rollups:`,
 * `.tally/rollups.duckdb` by default), the build records in it, and the fingerprint the current
 * definitions give each rollup (a rollup built from other definitions is never used). The CLI,
 * the API and the library open it here and hand it to runQuery; routing itself is route.ts.
 */
import { existsSync, statSync } from 'node:fs';
import { loadConfig, rollupStoreConfigOf } from '../config.js';
import { TallyError } from '../errors.js';
import type { RollupStoreConfig } from './store-config.js';
import { resolve } from 'node:path';
import type { EngineConfig } from '../config.js';
import type { Engine } from '../engines/engine.js';
import type { Project } from '../project.js';
import type { RollupSource } from '../run.js';
import { definitionFingerprint } from './fingerprint.js';
import { openRollupStore, type RollupStore } from './store.js';
import type { BuiltRollup } from './types.js';
import { DataHealth } from '../checks/health.js';
import { checkFreshness, checksPathOf, readChecks, type RollupChecks, type SourceChecks, withStaleness } from './verify.js';

/** An open rollup store as a source of answers; `refresh` re-reads its build records. */
export interface OpenRollupSource {
  source: RollupSource;
  /** Re-reads the build records (after a build by another process or a schedule). */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens the project's rollup store for answering, or undefined when the project declares no
 * rollups or the store was never created (nothing built yet: requests read the base tables).
 * `engine` is the project's engine, needed when the store is a schema of it (else an error).
 */
export async function openRollupSource(project: Project, engine?: Engine, database?: string): Promise<OpenRollupSource | undefined> {
  if (project.graph.rollups.size === 0) return undefined;
  const store = await openProjectRollupStore(project.dir, engine);
  const checksFile = checksPathOf(rollupStoreConfigOf(loadConfig(project.dir), project.dir), project.dir);
  return store && rollupSourceOf(project, store, database, { ...(checksFile ? { checksFile } : {}), ...(engine ? { freshness: engine } : {}) });
}

/**
 * The rollup store of the project in `dir` (tally.yml `rollups:`), or undefined when it is an
 * embedded DuckDB file that does not exist yet: answering never creates one.
 */
export async function openProjectRollupStore(dir: string, engine?: Engine): Promise<RollupStore | undefined> {
  const config = rollupStoreConfigOf(loadConfig(dir), dir);
  if (config.store === 'duckdb' && config.path !== ':memory:' && !existsSync(config.path)) return undefined;
  return openRollupStore(config, engine, { readOnly: true });
}

/** Where a rollup source learns which builds are stale (src/rollups/verify.ts). */
export interface StalenessOptions {
  /** The checks file beside the store (checksPathOf): checks a server or `tally rollup status --verify` made. */
  checksFile?: string;
  /** The engine of the base tables: each build's sources' freshness is measured on it when the source is opened or refreshed (one MAX per source model). */
  freshness?: Engine;
  /** Checks already made (a test, a process that keeps its own). */
  checks?: () => RollupChecks;
}

/**
 * A rollup store already open (tests, the server) as a source of answers. `database`
 * (databaseIdentity of the engine's config) keeps out builds recorded from another database.
 * Each build record carries the stale ranges its checks found (`staleness`): routing reads the
 * base tables there.
 */
export async function rollupSourceOf(project: Project, store: RollupStore, database?: string, staleness: StalenessOptions = {}): Promise<OpenRollupSource> {
  const fingerprints = new Map<string, string>();
  for (const name of project.graph.rollups.keys()) fingerprints.set(name, definitionFingerprint(project.graph, name));
  const read = async (): Promise<BuiltRollup[]> => {
    const built = await store.list();
    const checks: RollupChecks = { ...readChecks(staleness.checksFile), ...staleness.checks?.() };
    if (staleness.freshness) {
      const health = new DataHealth(staleness.freshness, undefined, { ttlMs: 60_000 });
      for (const b of built) {
        const definition = project.graph.rollups.get(b.name);
        // Builds routing never uses (other definitions, another database) are not compared.
        if (!definition || fingerprints.get(b.name) !== b.fingerprint || (database && b.source && b.source !== database)) continue;
        checks[b.name] = { ...checks[b.name], freshness: await checkFreshness(project.graph, staleness.freshness, definition, b, health) };
      }
    }
    return withStaleness(built, checks);
  };
  const source: RollupSource = { engine: store.engine, built: await read(), fingerprint: (name) => fingerprints.get(name), ...(database ? { database } : {}) };
  return {
    source,
    refresh: async () => {
      source.built = await read();
    },
    close: () => store.close(),
  };
}

/**
 * What a server reads from a rollup store: the engine over its tables, its build records (each
 * with the stale ranges the server's checks found, verify.ts), and a cheap stamp of them.
 */
export interface ServedRollupStore extends Pick<RollupStore, 'engine' | 'list' | 'close'> {
  /**
   * Changes whenever the build records (or their staleness) may have changed, without reading the
   * store: the embedded store file's identity (a build by any process renames a new file into
   * place), `changed()` calls (this process's own builds), the checks' version; for a store in the
   * engine, whose records another process can write unseen, also every 5 seconds.
   */
  stamp(): string;
  /** Says the records changed (a build by this process, published): the next stamp differs. */
  changed(): void;
}

/** How often a server re-reads build records it cannot watch (a store in the engine). */
const UNWATCHED_REREAD_MS = 5_000;

/**
 * The project's rollup store for a long-running server. A build replaces an embedded store's file
 * (store.ts: a copy renamed into place), so this one looks at the file when build records are read
 * and opens the new file when it was replaced (or created after the server started); the previous
 * one is closed a minute later, when statements running on it are long done. `checks` (the
 * server's staleness checks) mark the records it lists.
 */
export async function openServedRollupStore(dir: string, engine: Engine, checks?: SourceChecks): Promise<ServedRollupStore> {
  const config = rollupStoreConfigOf(loadConfig(dir), dir);
  if (config.store !== 'duckdb' || config.path === ':memory:') return new CheckedRollupStore(await openRollupStore(config, engine), checks);
  return new ReopeningRollupStore(config, checks);
}

/** A store opened once (in the engine, or in memory): records re-read on `changed()` and every few seconds. */
class CheckedRollupStore implements ServedRollupStore {
  private changes = 0;

  constructor(
    private readonly store: RollupStore,
    private readonly checks?: SourceChecks,
  ) {}

  get engine(): Engine {
    return this.store.engine;
  }

  async list(): Promise<BuiltRollup[]> {
    const built = await this.store.list();
    return this.checks ? this.checks.annotate(built) : built;
  }

  stamp(): string {
    return `${Math.floor(Date.now() / UNWATCHED_REREAD_MS)}:${this.changes}:${this.checks?.version ?? 0}`;
  }

  changed(): void {
    this.changes += 1;
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

class ReopeningRollupStore implements ServedRollupStore {
  private current?: { store: RollupStore; file: string };
  private opening?: Promise<void>;
  private changes = 0;

  constructor(
    private readonly config: Extract<RollupStoreConfig, { store: 'duckdb' }>,
    private readonly checks?: SourceChecks,
  ) {}

  stamp(): string {
    let file = 'none';
    try {
      const s = statSync(this.config.path);
      file = `${s.dev}:${s.ino}:${s.mtimeMs}:${s.size}`;
    } catch {
      // Not built yet: 'none' until a build puts the file in place.
    }
    return `${file}:${this.changes}:${this.checks?.version ?? 0}`;
  }

  changed(): void {
    this.changes += 1;
  }

  get engine(): Engine {
    if (!this.current) throw new TallyError('ENGINE_UNAVAILABLE', 'the rollup store is not open yet; retry shortly');
    return this.current.store.engine;
  }

  async list(): Promise<BuiltRollup[]> {
    const file = fileIdentity(this.config.path);
    if (file === undefined) return [];
    if (this.current?.file !== file) {
      this.opening ??= this.reopen(file).finally(() => (this.opening = undefined));
      await this.opening;
    }
    const built = this.current ? await this.current.store.list() : [];
    return this.checks ? this.checks.annotate(built) : built;
  }

  private async reopen(file: string): Promise<void> {
    const previous = this.current?.store;
    this.current = { store: await openRollupStore(this.config, undefined, { readOnly: true }), file };
    if (previous) setTimeout(() => void previous.close(), 60_000).unref();
  }

  async close(): Promise<void> {
    await this.current?.store.close();
    this.current = undefined;
  }
}

/** The identity of a file (device and inode: a build renames a new file into place), or undefined when it does not exist. */
function fileIdentity(path: string): string | undefined {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * Which database an engine config reads, as build records keep it (BuiltRollup.source): a DuckDB
 * file by its absolute path; Postgres and Trino by the names of their URL variables and their
 * schema (never a URL, which can hold a password).
 */
export function databaseIdentity(config: EngineConfig): string {
  switch (config.type) {
    case 'duckdb':
      return `duckdb:${config.path === ':memory:' ? ':memory:' : resolve(config.path)}`;
    case 'postgres':
      return `postgres:${config.urlEnv}/${config.schema ?? ''}`;
    case 'trino':
      return `trino:${config.urlEnv}/${config.catalog}.${config.schema}`;
  }
}
