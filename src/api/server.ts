/**
 * The GraphQL API over HTTP (graphql-yoga), with GraphiQL in the browser. Every request goes
 * through the same compile-and-run path as the CLI and the library.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { createInMemoryCache, useResponseCache } from '@graphql-yoga/plugin-response-cache';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { FSWatcher } from 'chokidar';
import compression from 'compression';
import { type Authenticator } from '../access/authenticate.js';
import { AccessControl, type Caller, TRUSTED_CALLER } from '../access/control.js';
import { accessPolicyOf } from '../access/policy.js';
import { compileRequest, type CompiledQuery, type RollupOptions } from '../compile.js';
import type { SemanticGraph } from '../definitions/graph.js';
import { definitionFingerprint } from '../rollups/fingerprint.js';
import type { RollupStore } from '../rollups/store.js';
import type { BuiltRollup } from '../rollups/types.js';
import type { Engine, ResultSet } from '../engines/engine.js';
import { DefinitionError, TallyError } from '../errors.js';
import { loadProject, type Project } from '../project.js';
import type { Expression } from '../query/expression.js';
import type { RequestInput } from '../query/request.js';
import { answerOf, type QueryResult } from '../run.js';
import { type CacheOptions, TtlCache } from './cache.js';
import { checkCost, DEFAULT_LIMITS, type Limits, QueryGate } from './limits.js';
import { createLogger, type Logger, type RequestLog } from './log.js';
import { serveCatalogAsset } from '../web/assets.js';
import { type ApiContext, buildSchema } from './schema.js';
import { DataHealth } from '../checks/health.js';
import type { StateStore } from '../checks/state.js';
import { readExperiment } from '../experiments/readout.js';
import { experimentsOf } from '../experiments/validate.js';

export interface ServerOptions {
  projectDir: string;
  engine: Engine;
  /** Reload definitions when metrics/ changes; a broken edit keeps the last valid version serving. */
  watch?: boolean;
  /** Per-query timeout; overrides limits.queryTimeoutMs. */
  timeoutMs?: number;
  /**
   * Who may call: without one, every request is served as a trusted caller to whom policies do
   * not apply (the library's default and the open demo); with one, credentials are checked and
   * the definitions' access policy decides what each caller sees.
   */
  auth?: Authenticator;
  /** Request, answer and engine limits; DEFAULT_LIMITS for what is not given. */
  limits?: Partial<Limits>;
  /** Answers kept for identical requests; `false` turns this cache off. Default: 60 s, 1000 answers. */
  cache?: CacheOptions | false;
  /**
   * Origins (scheme://host[:port]) whose pages may call the API from a browser; none (the
   * default): only pages served by this server (same-origin). '*' lets any page call it.
   */
  corsOrigins?: string[];
  /** Where log lines go: a pino logger; or `log`, which gets each JSON line; default: stdout at `logLevel`. */
  logger?: Logger;
  log?: (line: string) => void;
  /** Where check results are kept (src/checks/state.ts): answers say when a check on their inputs failed. */
  stateStore?: StateStore;
  /**
   * The rollup store (src/rollups/store.ts): a request is answered from it where a built rollup
   * provably gives the base answer (src/rollups/route.ts), unless it asks `rollups: false`.
   */
  rollupStore?: Pick<RollupStore, 'engine' | 'list'>;
  /** Which database `engine` reads (src/rollups/source.ts databaseIdentity): rollups built from another are not used. */
  database?: string;
  /** Called after a reload that changed the definitions (`tally serve --watch` runs the checks then). */
  onReload?: (project: Project) => void;
  /** pino level for the default logger: fatal, error, warn, info (default), debug, trace, silent. */
  logLevel?: string;
}

interface Served {
  project: Project;
  schema: GraphQLSchema;
  access: AccessControl;
}

export class TallyServer {
  private served: Served;
  private readonly inFlight = new Map<string, SharedRun>();
  /** Who each HTTP request is from (authenticated before anything else), and what it did, for its log line. */
  private readonly requests = new WeakMap<Request, { caller?: Caller; gateKey: string; started: number; log: RequestLog }>();
  /** Every run not yet ended: cancelled on close. */
  private readonly running = new Set<SharedRun>();
  /** The last reload's problems; cleared by the next successful reload. */
  reloadProblem?: string;
  /** Answers by definitions version and request. */
  readonly results?: TtlCache<QueryResult>;
  /** Compiled SQL is kept whatever the answer cache does: it only changes with the definitions. */
  private readonly compiled = new TtlCache<CompiledQuery>({ ttlMs: 3_600_000, maxEntries: 1000 });
  /** The rollup store's build records, as last read. */
  private rollupBuilds?: { at: number; built: BuiltRollup[] };
  private readonly rollupFingerprints = new WeakMap<SemanticGraph, Map<string, string>>();
  private watcher?: FSWatcher;
  private http?: Server;
  readonly yoga: YogaServerInstance<Record<string, unknown>, ApiContext>;
  readonly logger: Logger;
  readonly limits: Limits;
  /** Engine queries running at once, and the queue in front of them. */
  readonly gate: QueryGate;

  /** Freshness and check results of the served data (src/checks/health.ts). */
  readonly dataHealth: DataHealth;

  constructor(private readonly options: ServerOptions) {
    this.logger = options.logger ?? createLogger({ level: options.logLevel, write: options.log });
    this.dataHealth = new DataHealth(options.engine, options.stateStore, { redactSamples: options.auth !== undefined });
    this.limits = { ...DEFAULT_LIMITS, ...options.limits, ...(options.timeoutMs !== undefined ? { queryTimeoutMs: options.timeoutMs } : {}) };
    this.gate = new QueryGate(this.limits.maxConcurrentQueries, this.limits.maxQueuedQueries, this.limits.maxConcurrentQueriesPerCaller);
    const origins = options.corsOrigins ?? [];
    const cache = options.cache ?? { ttlMs: 60_000, maxEntries: 1000 };
    if (cache) this.results = new TtlCache(cache);
    this.served = this.load();
    this.yoga = createYoga<Record<string, unknown>, ApiContext>({
      schema: () => this.served.schema,
      context: async ({ request }) => this.context(request, await this.callerOf(request)),
      // Authentication comes first, before the response cache, parsing and validation: a request
      // without valid credentials learns nothing, not even whether its document is valid.
      plugins: [this.authenticateFirst(), this.requestLog(), this.armor(), checkVariables(MAX_VARIABLE_NESTING), errorCodes(), ...(cache ? [this.responseCache(cache)] : [])],
      // Browsers let other sites' pages read answers only from the origins listed (none by default).
      cors: (request) => {
        const origin = request.headers.get('origin');
        if (!origin) return false;
        if (origins.includes('*')) return { origin: '*', credentials: false };
        return origins.includes(origin) ? { origin: [origin], credentials: true } : false;
      },
      renderGraphiQL,
      graphiql: { title: 'Tally', defaultQuery: DEFAULT_QUERY },
      landingPage: false,
      // Errors Tally raises on purpose are answers, not incidents; unexpected ones are logged
      // (without request headers, so no credential ever reaches a log) by maskError below.
      logging: false,
      maskedErrors: {
        maskError: (error, message) => {
          const original = error instanceof GraphQLError ? error.originalError : error;
          if (original instanceof TallyError) {
            return new GraphQLError(original.message, { ...(error instanceof GraphQLError ? { nodes: error.nodes, path: error.path } : {}), extensions: { code: original.code } });
          }
          if (error instanceof GraphQLError && !error.originalError) return error;
          if (error instanceof GraphQLError && error.originalError instanceof GraphQLError) return error;
          this.logger.error({ err: original }, 'internal error');
          return new GraphQLError(message, { extensions: { code: 'INTERNAL_ERROR' } });
        },
      },
    });
    if (options.watch) this.startWatching();
  }

  get project(): Project {
    return this.served.project;
  }

  private load(): Served {
    const project = loadProject(this.options.projectDir);
    return { project, schema: buildSchema(project.graph), access: new AccessControl(project.graph, accessPolicyOf(project.graph).policy) };
  }

  /** The caller of a request, authenticated by authenticateFirst (or now, for a request it did not see). */
  private async callerOf(request: Request): Promise<Caller> {
    const known = this.requests.get(request)?.caller;
    if (known) return known;
    const auth = this.options.auth;
    if (!auth) return TRUSTED_CALLER;
    try {
      return await auth.authenticate(request.headers);
    } catch (e) {
      if (e instanceof TallyError) {
        throw new GraphQLError(e.message, { extensions: { code: e.code, http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } } });
      }
      throw e;
    }
  }

  /**
   * Every request is authenticated before anything else looks at it (the response cache, the
   * parser, validation); one without valid credentials gets 401 UNAUTHENTICATED and nothing more.
   * GraphiQL's page itself (a GET for HTML) is public; the requests it sends are not.
   */
  private authenticateFirst(): Plugin {
    return {
      onRequest: async ({ request, serverContext, endResponse, fetchAPI }) => {
        const requestId = randomUUID();
        const address = (serverContext as { req?: IncomingMessage }).req?.socket.remoteAddress ?? 'local';
        const entry = { gateKey: `address:${address}`, started: performance.now(), caller: undefined as Caller | undefined, log: { requestId, metrics: [], rows: 0, engineMs: 0, cacheHit: false, statements: 0 } as RequestLog };
        this.requests.set(request, entry);
        // GraphiQL's page (a GET for HTML without a document) needs no credentials.
        if (request.method === 'GET' && (request.headers.get('accept') ?? '').includes('text/html') && !new URL(request.url).searchParams.has('query')) return;
        const auth = this.options.auth;
        if (!auth) {
          entry.caller = TRUSTED_CALLER;
          entry.log.caller = 'open';
          return;
        }
        try {
          const caller = await auth.authenticate(request.headers);
          entry.caller = caller;
          entry.log.caller = caller.id;
          // Callers without a name of their own share the engine by address.
          if (caller.via !== 'anonymous') entry.gateKey = `${caller.via}:${caller.id}`;
        } catch (e) {
          if (!(e instanceof TallyError)) throw e;
          entry.log.error = e.code;
          endResponse(
            new fetchAPI.Response(JSON.stringify({ errors: [{ message: e.message, extensions: { code: e.code } }] }), {
              status: 401,
              headers: { 'content-type': 'application/json; charset=utf-8', 'www-authenticate': 'Bearer', 'x-request-id': requestId },
            }),
          );
        }
      },
    };
  }

  /** One structured line per request, when its response is ready (see RequestLog). */
  private requestLog(): Plugin {
    return {
      onResultProcess: ({ request, result }) => {
        const entry = this.requests.get(request);
        for (const r of Array.isArray(result) ? result : [result]) {
          const extensions = (r as { extensions?: Record<string, unknown> } | undefined)?.extensions;
          const meta = extensions?.responseCache as { hit?: boolean } | undefined;
          if (extensions && meta) {
            if (meta.hit && entry) entry.log.cacheHit = true;
            delete extensions.responseCache;
            if (Object.keys(extensions).length === 0) delete (r as { extensions?: unknown }).extensions;
          }
          const code = ((r as { errors?: readonly GraphQLError[] } | undefined)?.errors?.[0]?.extensions as { code?: unknown } | undefined)?.code;
          if (entry && typeof code === 'string' && !entry.log.error) entry.log.error = code;
        }
      },
      onResponse: ({ request, response }) => {
        const entry = this.requests.get(request);
        if (!entry) return;
        response.headers.set('x-request-id', entry.log.requestId);
        if (request.method === 'GET' && (request.headers.get('accept') ?? '').includes('text/html')) return;
        const log: RequestLog = { ...entry.log, status: response.status, totalMs: Math.round(performance.now() - entry.started) };
        log.engineMs = Math.round(log.engineMs);
        if (log.statements === 0 && !log.error && log.metrics.length > 0) log.cacheHit = true;
        if (log.engineError) this.logger.warn(log, 'request');
        else this.logger.info(log, 'request');
      },
    };
  }

  /**
   * Whole responses for repeated identical requests, so that a dashboard's refresh skips execution.
   * Keyed by definitions version, the caller's credentials (authentication still runs first, in
   * the context) and the document with its variables; responses with errors are never kept.
   */
  private responseCache(options: CacheOptions): Plugin {
    return useResponseCache({
      cache: createInMemoryCache({ max: options.maxEntries }),
      ttl: options.ttlMs,
      session: (request) => {
        const credentials = `${request.headers.get('authorization') ?? ''}\0${request.headers.get('x-api-key') ?? ''}`;
        return credentials === '\0' ? null : createHash('sha256').update(credentials).digest('hex');
      },
      // Runs even for requests that variableNesting refuses: those get a key that never matches,
      // rather than a JSON.stringify that would overflow the stack.
      buildResponseCacheKey: ({ documentString, variableValues, operationName, sessionId }) =>
        nestingOf(variableValues, MAX_VARIABLE_NESTING) > MAX_VARIABLE_NESTING
          ? `refused:${randomUUID()}`
          : createHash('sha256')
              .update([this.served.project.version, sessionId ?? '', operationName ?? '', documentString, JSON.stringify(variableValues ?? {})].join('\0'))
              .digest('hex'),
      // Read (and removed) by requestLog, which logs whether the response was a cache hit.
      includeExtensionMetadata: true,
      // The plugin would add `id` to selections to track entities; here a selected field is a
      // group-by, so the document must stay exactly as the client wrote it.
      idFields: [],
    }) as Plugin;
  }

  /** GraphQL documents deeper, wider or longer than the limits are refused before they run. */
  private armor(): Plugin {
    const tag = (_ctx: unknown, error: GraphQLError): void => {
      (error.extensions as Record<string, unknown>).code = 'REQUEST_TOO_LARGE';
    };
    const callbacks = { onReject: [tag], propagateOnRejection: true };
    return EnvelopArmorPlugin({
      maxDepth: { n: this.limits.maxDepth, ...callbacks },
      maxAliases: { n: this.limits.maxAliases, ...callbacks },
      costLimit: { maxCost: this.limits.maxCost, ...callbacks },
      maxTokens: { n: this.limits.maxTokens, ...callbacks },
      maxDirectives: { n: 20, ...callbacks },
      // The schema is public and self-documenting: suggestions help more than they reveal.
      blockFieldSuggestion: { enabled: false },
    }) as Plugin;
  }

  private context(httpRequest: Request, caller: Caller): ApiContext {
    const { project, access } = this.served;
    const entry = this.requests.get(httpRequest);
    const log = entry?.log;
    const gateKey = entry?.gateKey ?? caller.id;
    // A client that goes away cancels its statements (the server's shutdown cancels every run).
    const signal = httpRequest.signal;
    return {
      visibleMetrics: () => access.visibleMetrics(caller),
      health: {
        forAnswer: (answer) => this.dataHealth.forAnswer(project.graph, answer),
        report: () => this.dataHealth.report(project.graph),
        history: async (id, limit) => (this.options.auth ? [] : ((await this.options.stateStore?.history(id, limit)) ?? [])),
      },
      // An experiment reads its metrics under the caller's policy: FORBIDDEN, or their row filters.
      readExperiment: async (name, options) => {
        const def = experimentsOf(project.graph).get(name)?.def;
        const rowFilters = def ? access.authorize(caller, { metrics: [...def.primary_metrics, ...def.guardrail_metrics] }) : [];
        const timeoutMs = this.limits.queryTimeoutMs;
        return this.gate.run(() => readExperiment(project, this.options.engine, name, { rowFilters, timeoutMs, timelinePoints: options?.timelinePoints }), timeoutMs);
      },
      run: async (input, filters, runOptions): Promise<QueryResult> => {
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
        const rollups = runOptions?.rollups !== false ? await this.rollupOptions(project) : undefined;
        const key = `${project.version}\0${JSON.stringify(request)}\0${JSON.stringify(filters)}\0${JSON.stringify(rowFilters)}\0${rollups ? rollups.built.map((b) => `${b.name}@${b.builtAt}@${b.fingerprint}`).join(',') : 'base'}`;
        const answered = this.results?.get(key);
        if (answered) {
          if (log) log.rows += answered.rows.length;
          return answered;
        }
        const compiled = this.compile(key, project, request, filters, rowFilters, rollups);
        const engine = compiled.rollups?.served && this.options.rollupStore ? this.options.rollupStore.engine : this.options.engine;
        // What the answer and the work would be, from the plan alone: refused before any SQL runs.
        checkCost(compiled.plan, compiled.statement, this.limits);
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
        return answer;
      },
    };
  }

  /**
   * What routing needs to answer from rollups: the build records (re-read at most every few
   * seconds, so that a build elsewhere is seen) and the fingerprints the served definitions give.
   */
  private async rollupOptions(project: Project): Promise<RollupOptions | undefined> {
    const store = this.options.rollupStore;
    if (!store || project.graph.rollups.size === 0) return undefined;
    if (!this.rollupBuilds || this.rollupBuilds.at < Date.now() - 5_000) this.rollupBuilds = { at: Date.now(), built: await store.list() };
    let fingerprints = this.rollupFingerprints.get(project.graph);
    if (!fingerprints) {
      fingerprints = new Map([...project.graph.rollups.keys()].map((name) => [name, definitionFingerprint(project.graph, name)]));
      this.rollupFingerprints.set(project.graph, fingerprints);
    }
    const current = fingerprints;
    return { built: this.rollupBuilds.built, fingerprint: (name) => current.get(name), dialect: store.engine.dialect, database: this.options.database };
  }

  private compile(key: string, project: Project, request: RequestInput, filters: Expression[], rowFilters: Expression[], rollups?: RollupOptions): CompiledQuery {
    const cached = this.compiled.get(key);
    if (cached) return cached;
    const dialect = this.options.engine.dialect;
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
    this.compiled.set(key, compiled);
    return compiled;
  }

  /**
   * Identical requests that arrive while one is running share its run: the SQL runs once, and is
   * cancelled only when every request sharing it has gone (or the server shuts down).
   */
  private execute(version: string, sql: string, caller: string, signal: AbortSignal, engine: Engine = this.options.engine): Promise<ResultSet> {
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

  reload(): boolean {
    try {
      const next = this.load();
      if (next.project.version !== this.served.project.version) {
        this.served = next;
        this.results?.clear();
        this.compiled.clear();
        this.logger.info({ version: next.project.version }, `definitions reloaded: version ${next.project.version}`);
        this.dataHealth.clear();
        this.options.onReload?.(next.project);
      } else if (this.reloadProblem) {
        this.logger.info({ version: next.project.version }, `definitions fixed: serving version ${next.project.version}`);
      }
      this.reloadProblem = undefined;
      return true;
    } catch (e) {
      const detail = e instanceof DefinitionError ? e.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`).join('\n') : (e as Error).message;
      this.reloadProblem = detail;
      this.logger.error({ problems: detail }, `definitions not reloaded, still serving version ${this.served.project.version}:\n${detail}`);
      return false;
    }
  }

  /** Saves seen so far by --watch (each one reloads, after 100 ms of quiet). */
  watchEvents = 0;
  /** Resolves once the watcher is watching. */
  watching?: Promise<void>;

  /**
   * Watches metrics/ with chokidar, which follows files that editors save atomically (a temporary
   * file renamed over the original): every save is seen, not only the first.
   */
  private startWatching(): void {
    let timer: NodeJS.Timeout | undefined;
    // Loaded only with --watch.
    this.watching = import('chokidar').then(({ default: chokidar }) => {
      const watcher = chokidar.watch(join(this.options.projectDir, 'metrics'), { ignoreInitial: true, atomic: true });
      this.watcher = watcher;
      watcher.on('all', (_event, path) => {
        if (!/\.ya?ml$/.test(path)) return;
        this.watchEvents += 1;
        clearTimeout(timer);
        timer = setTimeout(() => this.reload(), 100);
      });
      watcher.on('error', (e) => this.logger.error({ err: e }, 'watching metrics/ failed'));
      return new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (serveCatalogAsset(req, res)) return;
    const refusal = bodyRefusal(req, this.limits.maxBodyBytes);
    if (refusal) {
      res.writeHead(refusal.status, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ errors: [{ message: refusal.message, extensions: { code: 'REQUEST_TOO_LARGE' } }] }));
      req.resume();
      return;
    }
    void this.yoga(req, res);
  }

  async listen(port: number, host: string): Promise<string> {
    // Answers and pages are compressed (gzip, deflate or brotli, as the client accepts) past 1 KB:
    // GraphiQL alone is megabytes.
    const compress = compression({ threshold: 1024 });
    // The catalog page at / (and its assets) beside the API; everything else is GraphQL's.
    const http = createServer((req, res) => {
      compress(req as Parameters<typeof compress>[0], res as Parameters<typeof compress>[1], () => this.handle(req, res));
    });
    this.http = http;
    // Edits made once the server answers are seen by --watch.
    await this.watching;
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => resolve());
    });
    const address = http.address() as AddressInfo;
    return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}/graphql`;
  }

  /** Stops serving: cancels every running and waiting statement, closes connections and the watcher. */
  async close(): Promise<void> {
    for (const run of this.running) run.controller.abort();
    await this.watching?.catch(() => undefined);
    await this.watcher?.close();
    const http = this.http;
    if (http) {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  }
}

/** Variables nest at most this deep: GraphQL's own limits count the document, not its variables. */
const MAX_VARIABLE_NESTING = 64;

/** One engine statement and the requests waiting for it. */
interface SharedRun {
  promise: Promise<ResultSet>;
  controller: AbortController;
  waiting: number;
}

/**
 * Refuses variables nested deeper than `max` (they would exhaust the stack while being coerced),
 * and numbers that JSON cannot carry exactly: an integer beyond 2^53 has already lost digits
 * when it arrives (9007199254740993 reads as …992) and 1e400 reads as Infinity. Such values must
 * be sent as strings (ID and Decimal accept them).
 */
function checkVariables(max: number): Plugin {
  return {
    onParams({ params, setResult }) {
      if (nestingOf(params.variables, max) > max) {
        setResult({ errors: [new GraphQLError(`the variables are nested more than ${max} deep; flatten the filter (use in: [...] instead of nested or)`, { extensions: { code: 'REQUEST_TOO_LARGE' } })] });
        return;
      }
      const inexact = inexactNumber(params.variables);
      if (inexact !== undefined) {
        setResult({
          errors: [
            new GraphQLError(`the variable value ${inexact} is not an exact JSON number (integers beyond 2^53 lose digits in JSON); send it as a string, e.g. "12345678901234567890"`, {
              extensions: { code: 'INVALID_REQUEST' },
            }),
          ],
        });
      }
    },
  };
}

/** The first number in a JSON value that is not exact: infinite, or an integer beyond 2^53. */
function inexactNumber(value: unknown): string | undefined {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'number' && (!Number.isFinite(v) || (Number.isInteger(v) && !Number.isSafeInteger(v)))) return String(v);
    if (v && typeof v === 'object') stack.push(...Object.values(v));
  }
  return undefined;
}

/**
 * Refuses a NUL character in any text of a request: SQL engines end a statement's text at it
 * (DuckDB) or refuse it, so it never reaches them.
 */
export function refuseNul(value: unknown, where = 'the request'): void {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string' && v.includes('\0')) {
      throw new TallyError('INVALID_REQUEST', `${where} holds a NUL character (\\u0000), which no text in Tally may contain; remove it`);
    }
    if (v && typeof v === 'object') stack.push(...Object.values(v));
  }
}

/** How deep a JSON value nests, counted without recursion, stopping past `max`. */
function nestingOf(value: unknown, max: number): number {
  let deepest = 0;
  const stack: { v: unknown; d: number }[] = [{ v: value, d: 0 }];
  while (stack.length) {
    const { v, d } = stack.pop() as { v: unknown; d: number };
    if (d > deepest) deepest = d;
    if (deepest > max) return deepest;
    if (v && typeof v === 'object') for (const child of Object.values(v)) stack.push({ v: child, d: d + 1 });
  }
  return deepest;
}

/** A body that is too large (413), or whose size is not announced (411), is refused unread. */
function bodyRefusal(req: IncomingMessage, maxBytes: number): { status: number; message: string } | undefined {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return undefined;
  const length = req.headers['content-length'];
  if (length === undefined) {
    return req.headers['transfer-encoding'] ? { status: 411, message: 'send the request with a Content-Length header' } : undefined;
  }
  const bytes = Number(length);
  if (!Number.isSafeInteger(bytes) || bytes < 0) return { status: 400, message: 'the Content-Length header is not a number of bytes' };
  if (bytes > maxBytes) return { status: 413, message: `the request body is ${bytes} bytes, more than the ${maxBytes} this server accepts` };
  return undefined;
}

/**
 * Every error leaves with a stable `extensions.code`: errors of Tally's own carry theirs, and
 * GraphQL's own (a document that does not parse or validate, a malformed HTTP request) get one.
 */
function errorCodes(): Plugin {
  const tag = (result: unknown): void => {
    const errors = (result as { errors?: readonly GraphQLError[] } | undefined)?.errors;
    for (const error of errors ?? []) {
      const extensions = error.extensions as Record<string, unknown> | undefined;
      if (!extensions || extensions.code !== undefined) continue;
      extensions.code = /^Syntax Error/.test(error.message) ? 'GRAPHQL_PARSE_FAILED' : error.path === undefined ? 'GRAPHQL_VALIDATION_FAILED' : 'BAD_REQUEST';
    }
  };
  return {
    onResultProcess({ result }) {
      if (Array.isArray(result)) result.forEach(tag);
      else tag(result);
    },
  };
}

const DEFAULT_QUERY = `# Revenue and average order value by month and country, with the SQL that produced them.
query RevenueByMonth {
  metrics(filter: { user: { country: { in: ["KR", "US"] } } }, from: "2025-01-01", to: "2025-06-30") {
    rows {
      metricTime(grain: MONTH)
      user { country }
      revenue
      averageOrderValue
    }
    version
    sql
  }
}
`;
