/**
 * How the server answers one request for metrics: limits on the request, the caller's access,
 * the answer cache, compiling (memoised per request and row filters), the cost check, and the
 * statement's run through the fair queue, shared by identical requests in flight and cancelled
 * when every client waiting for it has gone.
 */
import type { AccessControl, Caller } from '../access/control.js';
import { compileRequest, type CompiledQuery, type RollupOptions } from '../compile.js';
import type { SemanticGraph } from '../definitions/graph.js';
import { definitionFingerprint } from '../rollups/fingerprint.js';
import { routingForRestrictedCaller } from '../rollups/route.js';
import type { RollupStore } from '../rollups/store.js';
import type { ServedRollupStore } from '../rollups/source.js';
import { buildIdentity } from '../rollups/verify.js';
import type { BuiltRollup } from '../rollups/types.js';
import type { Engine, ResultSet } from '../engines/engine.js';
import { TallyError } from '../errors.js';
import type { Project } from '../project.js';
import type { Expression } from '../query/expression.js';
import type { RequestInput } from '../query/request.js';
import { answerOf, type QueryResult } from '../run.js';
import { type CacheOptions, TtlCache } from './cache.js';
import { checkCost, type Limits, type QueryGate } from './limits.js';
import type { Logger, RequestLog } from './log.js';
import { refuseNul } from './request-guards.js';

/** One engine statement and the requests waiting for it. */
interface SharedRun {
  promise: Promise<ResultSet>;
  controller: AbortController;
  waiting: number;
}

/** Who asks, and what their request's statements are tied to. */
export interface RunCaller {
  caller: Caller;
  /** The fair queue's key (see RequestEntry.gateKey). */
  gateKey: string;
  /** The request's log line, which this fills in (metrics, rows, engine time, statements, engine errors). */
  log?: RequestLog;
  /** Aborted when the client goes away: its statements are cancelled unless another request shares them. */
  signal: AbortSignal;
}

export class QueryRunner {
  /** Answers by definitions version, request and the caller's row filters; absent when the answer cache is off. */
  readonly results?: TtlCache<QueryResult>;
  /**
   * Compiled SQL, kept whatever the answer cache does: it only changes with the definitions. A
   * query is kept only once it has passed the cost check, so a hit needs neither compiling nor checking.
   */
  private readonly compiled = new TtlCache<CompiledQuery>({ ttlMs: 3_600_000, maxEntries: 1000 });
  private readonly inFlight = new Map<string, SharedRun>();
  /** Every run not yet ended: cancelled on close. */
  private readonly running = new Set<SharedRun>();
  /** The rollup store's build records as last read, the store's stamp then, and their part of answer keys. */
  private rollupBuilds?: { stamp: string; built: BuiltRollup[]; key: string };
  private readonly rollupFingerprints = new WeakMap<SemanticGraph, Map<string, string>>();

  constructor(
    private readonly engine: Engine,
    private readonly limits: Limits,
    private readonly gate: QueryGate,
    private readonly logger: Logger,
    cache: CacheOptions | false,
    /** Where requests are answered from rollups that provably give the base answer (src/rollups/route.ts). */
    private readonly rollups: { store?: Pick<RollupStore, 'engine' | 'list'> & Partial<Pick<ServedRollupStore, 'stamp'>>; database?: string } = {},
  ) {
    if (cache) this.results = new TtlCache(cache);
  }

  /**
   * The answer to a request, under the caller's access: FORBIDDEN, REQUEST_TOO_LARGE,
   * TOO_EXPENSIVE, TOO_MANY_ROWS, an engine fault with Tally's own message, or the answer.
   */
  async run(project: Project, access: AccessControl, who: RunCaller, input: RequestInput, filters: Expression[], options: { rollups?: boolean } = {}): Promise<QueryResult> {
    const { caller, gateKey, log, signal } = who;
    if (input.where !== undefined && input.where.length > this.limits.maxFilterLength) {
      throw new TallyError('REQUEST_TOO_LARGE', `the filter is ${input.where.length} characters long, more than the ${this.limits.maxFilterLength} this server accepts; shorten it`);
    }
    refuseNul(input);
    refuseNul(filters, 'the filter');
    log?.metrics.push(...(input.metrics ?? []).filter((m) => !log.metrics.includes(m)));
    // What the caller may see: FORBIDDEN, or the row filters every metric leaf is compiled with.
    const rowFilters = access.authorize(caller, input, filters);
    // One row more than the limit is read, so that an answer over the limit is known as such.
    const maxRows = this.limits.maxRows;
    const request: RequestInput = input.limit !== undefined && input.limit <= maxRows ? input : { ...input, limit: maxRows + 1 };
    // Requests are keyed by definitions version, the request and the caller's row filters: an
    // answer computed by older definitions, or for a caller who sees other rows, is never served.
    const offered = options.rollups !== false ? await this.rollupOptions(project) : undefined;
    const rollups = offered?.options;
    const key = `${project.version}\0${JSON.stringify(request)}\0${JSON.stringify(filters)}\0${JSON.stringify(rowFilters)}\0${offered ? offered.key : 'base'}`;
    // A restricted caller is not told why rollups did not answer (other rollups, covered ranges).
    const restricted = access.policy !== undefined && !caller.unrestricted;
    const answered = this.results?.get(key);
    if (answered) {
      if (log) log.rows += answered.rows.length;
      return restricted ? this.forRestricted(answered, log) : answered;
    }
    const compiled = this.compile(key, project, request, filters, rowFilters, rollups);
    const engine = compiled.rollups?.served && this.rollups.store ? this.rollups.store.engine : this.engine;
    const started = performance.now();
    let result: ResultSet;
    try {
      result = await this.execute(project.version, compiled.sql, gateKey, signal, engine);
    } catch (e) {
      throw this.engineFault(e, log);
    } finally {
      if (log) {
        log.engineMs += performance.now() - started;
        log.statements += 1;
      }
    }
    if (log) log.rows += Math.min(result.rows.length, maxRows);
    if (result.rows.length > maxRows) {
      throw new TallyError('TOO_MANY_ROWS', `the answer has more than ${maxRows} rows, the most this server returns; narrow it with a filter, a shorter time range, a coarser grain or a limit`);
    }
    const answer = answerOf(project, compiled, result);
    this.results?.set(key, answer);
    return restricted ? this.forRestricted(answer, log) : answer;
  }

  /** The answer as a restricted caller sees it: rollup refusal reasons go to the log only. */
  private forRestricted(answer: QueryResult, log: RequestLog | undefined): QueryResult {
    const routing = answer.rollups;
    if (!routing) return answer;
    if (!routing.served && routing.reason !== undefined) {
      if (log) (log.rollupRefusals ??= []).push(routing.reason);
      else this.logger.info({ rollupRefusal: routing.reason }, 'rollups did not answer a restricted caller');
    }
    return { ...answer, rollups: routingForRestrictedCaller(routing) };
  }

  /** Forgets answers and compiled SQL (after the definitions changed). */
  clear(): void {
    this.results?.clear();
    this.compiled.clear();
  }

  /** Cancels every running and waiting statement (the server is shutting down). */
  cancelAll(): void {
    for (const run of this.running) run.controller.abort();
  }

  /**
   * What routing needs to answer from rollups: the build records with their stale ranges, and the
   * fingerprints the served definitions give. Records are re-read only when the store's stamp
   * moves (a build by this server or another process, a staleness check: src/rollups/source.ts
   * ServedRollupStore.stamp), or every 5 seconds for a store without one.
   */
  private async rollupOptions(project: Project): Promise<{ options: RollupOptions; key: string } | undefined> {
    const store = this.rollups.store;
    if (!store || project.graph.rollups.size === 0) return undefined;
    const stamp = store.stamp ? store.stamp() : String(Math.floor(Date.now() / 5_000));
    if (this.rollupBuilds?.stamp !== stamp) {
      const built = await store.list();
      // An answer is keyed by the builds it may read and what is known stale in them.
      this.rollupBuilds = { stamp, built, key: built.map((b) => `${b.name}@${buildIdentity(b)}@${JSON.stringify(b.stale ?? [])}`).join(',') };
    }
    // Nothing built yet (an embedded store whose file does not exist is not even open): the base tables.
    const read = this.rollupBuilds;
    if (read.built.length === 0) return undefined;
    let fingerprints = this.rollupFingerprints.get(project.graph);
    if (!fingerprints) {
      fingerprints = new Map([...project.graph.rollups.keys()].map((name) => [name, definitionFingerprint(project.graph, name)]));
      this.rollupFingerprints.set(project.graph, fingerprints);
    }
    const current = fingerprints;
    return { options: { built: read.built, fingerprint: (name) => current.get(name), dialect: store.engine.dialect, database: this.rollups.database }, key: read.key };
  }

  private compile(key: string, project: Project, request: RequestInput, filters: Expression[], rowFilters: Expression[], rollups?: RollupOptions): CompiledQuery {
    const cached = this.compiled.get(key);
    if (cached) return cached;
    const dialect = this.engine.dialect;
    let compiled: CompiledQuery;
    try {
      compiled = compileRequest(project.graph, request, { dialect, filters, rowFilters, rollups });
    } catch (e) {
      // A request that only fails once the caller's row filters are added would read rows they
      // may not see (a model that does not reach the filtered dimension): refused, not answered.
      if (!(e instanceof TallyError) || rowFilters.length === 0) throw e;
      compileRequest(project.graph, request, { dialect, filters });
      throw new TallyError('FORBIDDEN', `not allowed: this request cannot be limited to the rows you may see (${e.message})`);
    }
    // What the answer and the work would be, from the plan alone: refused before any SQL runs.
    // The limits are the server's, fixed for its life, so a query that passed once always passes.
    checkCost(compiled.plan, compiled.statement, this.limits);
    this.compiled.set(key, compiled);
    return compiled;
  }

  /**
   * Identical requests that arrive while one is running share its run: the SQL runs once, and is
   * cancelled only when every request sharing it has gone (or the server shuts down).
   */
  private execute(version: string, sql: string, caller: string, signal: AbortSignal, engine: Engine = this.engine): Promise<ResultSet> {
    const key = `${version}\0${sql}`;
    let run = this.inFlight.get(key);
    if (!run) {
      const controller = new AbortController();
      const timeoutMs = this.limits.queryTimeoutMs;
      const created: SharedRun = {
        controller,
        waiting: 0,
        promise: this.gate
          .run(() => engine.query(sql, { timeoutMs, signal: controller.signal }), { waitMs: timeoutMs, caller, signal: controller.signal })
          .finally(() => {
            if (this.inFlight.get(key) === created) this.inFlight.delete(key);
          }),
      };
      run = created;
      this.inFlight.set(key, run);
      this.running.add(created);
      void created.promise.then(
        () => this.running.delete(created),
        () => this.running.delete(created),
      );
    }
    const shared = run;
    shared.waiting += 1;
    const onAbort = (): void => {
      shared.waiting -= 1;
      if (shared.waiting === 0) {
        // Nobody waits for it any more: a later identical request starts afresh.
        if (this.inFlight.get(key) === shared) this.inFlight.delete(key);
        shared.controller.abort();
      }
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    return shared.promise.finally(() => signal.removeEventListener('abort', onAbort));
  }

  /**
   * An engine failure as the caller sees it: the code and a message of Tally's own. The engine's
   * text can hold data the caller may not see; it goes to the request's log line only.
   */
  private engineFault(e: unknown, log: RequestLog | undefined): unknown {
    if (!(e instanceof TallyError) || (e.code !== 'ENGINE_ERROR' && e.code !== 'ENGINE_UNAVAILABLE')) return e;
    const detail = (e as TallyError & { detail?: unknown }).detail;
    const cause = (e as { cause?: unknown }).cause;
    const engineText = [typeof detail === 'string' ? detail : undefined, e.message, cause instanceof Error ? cause.message : undefined].filter(Boolean).join(' | ');
    if (log) log.engineError = engineText;
    else this.logger.warn({ engineError: engineText }, 'engine error');
    // An error that already separates its own message from the engine's detail keeps its message.
    if (typeof detail === 'string') return e;
    return e.code === 'ENGINE_UNAVAILABLE'
      ? new TallyError('ENGINE_UNAVAILABLE', 'the database cannot be read right now; retry shortly')
      : new TallyError('ENGINE_ERROR', `the engine could not run this query (request ${log?.requestId ?? 'unknown'} in the server log has the details); check the filter's values against the dimensions' types`);
  }
}
