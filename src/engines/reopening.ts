/**
 * An engine that opens itself again after a failure: when a query fails because the engine is
 * unavailable (a DuckDB file that cannot be read, a database that went away), the engine is
 * closed, that request fails with ENGINE_UNAVAILABLE, and a later request opens it afresh. So a
 * server recovers by itself once its database is back, without a restart.
 */
import { TallyError } from '../errors.js';
import type { Engine, QueryOptions, ResultSet } from './engine.js';

export class ReopeningEngine implements Engine {
  readonly name: string;
  readonly dialect: Engine['dialect'];
  private engine?: Engine;
  private opening?: Promise<Engine>;

  private constructor(
    private readonly opener: () => Promise<Engine>,
    first: Engine,
  ) {
    this.engine = first;
    this.name = first.name;
    this.dialect = first.dialect;
  }

  /** Opens the engine once (a failure here is reported as it is); later failures reopen it. */
  static async open(opener: () => Promise<Engine>): Promise<ReopeningEngine> {
    return new ReopeningEngine(opener, await opener());
  }

  async query(sql: string, options?: QueryOptions): Promise<ResultSet> {
    const engine = await this.current();
    try {
      return await engine.query(sql, options);
    } catch (e) {
      if (e instanceof TallyError && e.code === 'ENGINE_UNAVAILABLE') this.discard(engine);
      throw e;
    }
  }

  async close(): Promise<void> {
    const engine = this.engine;
    this.engine = undefined;
    await engine?.close();
  }

  private current(): Promise<Engine> {
    if (this.engine) return Promise.resolve(this.engine);
    this.opening ??= this.opener().then(
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
    engine.close().catch(() => undefined);
  }
}
