/**
 * An engine that opens itself again after a failure: when a query fails because the engine is
 * unavailable (a DuckDB file that cannot be read, a database that went away), the engine is
 * closed, that request fails with ENGINE_UNAVAILABLE, and a later request opens it afresh. So a
 * server recovers by itself once its database is back, without a restart.
 *
 * Given a file to watch (an embedded database), it also opens the engine afresh when that file
 * is replaced (another inode, size or modification time, as `tally seed` does by renaming a new
 * file into place): queries that already run finish on the old file, every later one reads the
 * new file. So a server and the CLI never answer from two versions of the data.
 */
import { statSync } from 'node:fs';
import { TallyError } from '../errors.js';
import type { Engine, QueryOptions, ResultSet } from './engine.js';

export class ReopeningEngine implements Engine {
  readonly name: string;
  readonly dialect: Engine['dialect'];
  private engine?: Engine;
  private opening?: Promise<Engine>;
  /** The watched file as the current engine opened it. */
  private identity?: string;
  /** How many times the engine was opened again (after a failure or a replaced file). */
  reopened = 0;
  private readonly running = new Map<Engine, number>();
  private readonly retiring = new Set<Engine>();

  private constructor(
    private readonly opener: () => Promise<Engine>,
    first: Engine,
    private readonly file: string | undefined,
    identity: string | undefined,
  ) {
    this.engine = first;
    this.identity = identity;
    this.name = first.name;
    this.dialect = first.dialect;
  }

  /**
   * Opens the engine once (a failure here is reported as it is); later failures reopen it, and
   * so does a change of `options.file` (the database file the engine reads).
   */
  static async open(opener: () => Promise<Engine>, options: { file?: string } = {}): Promise<ReopeningEngine> {
    const identity = fileIdentity(options.file);
    return new ReopeningEngine(opener, await opener(), options.file, identity);
  }

  async query(sql: string, options?: QueryOptions): Promise<ResultSet> {
    if (this.file && this.engine && fileIdentity(this.file) !== this.identity) this.discard(this.engine);
    const engine = await this.current();
    this.running.set(engine, (this.running.get(engine) ?? 0) + 1);
    try {
      return await engine.query(sql, options);
    } catch (e) {
      if (e instanceof TallyError && e.code === 'ENGINE_UNAVAILABLE') this.discard(engine);
      throw e;
    } finally {
      const left = (this.running.get(engine) ?? 1) - 1;
      this.running.set(engine, left);
      if (left === 0) {
        this.running.delete(engine);
        if (this.retiring.delete(engine)) engine.close().catch(() => undefined);
      }
    }
  }

  async close(): Promise<void> {
    const engine = this.engine;
    this.engine = undefined;
    const old = [...this.retiring];
    this.retiring.clear();
    await Promise.all([engine, ...old].map((e) => e?.close()));
  }

  private current(): Promise<Engine> {
    if (this.engine) return Promise.resolve(this.engine);
    this.opening ??= (async () => {
      const identity = fileIdentity(this.file);
      const engine = await this.opener();
      this.identity = identity;
      this.reopened += 1;
      return engine;
    })().then(
      (engine) => {
        this.opening = undefined;
        this.engine = engine;
        return engine;
      },
      (e: unknown) => {
        this.opening = undefined;
        throw new TallyError('ENGINE_UNAVAILABLE', `the database cannot be opened (${(e as Error).message}); retry shortly`);
      },
    );
    return this.opening;
  }

  private discard(engine: Engine): void {
    if (this.engine !== engine) return;
    this.engine = undefined;
    this.retire(engine);
  }

  /** Closes an engine once the queries running on it have ended (each is given their time). */
  private retire(engine: Engine): void {
    const running = this.running.get(engine);
    if (running && running > 0) this.retiring.add(engine);
    else engine.close().catch(() => undefined);
  }
}

/** A file's identity: inode, size and modification time ('' when it is missing). */
function fileIdentity(file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    const s = statSync(file, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`;
  } catch {
    return '';
  }
}
