/**
 * The GraphQL API over HTTP (graphql-yoga), with GraphiQL in the browser. Every request goes
 * through the same compile-and-run path as the CLI and the library.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { FSWatcher } from 'chokidar';
import compression from 'compression';
import { type Authenticator } from '../access/authenticate.js';
import { AccessControl, type Caller, TRUSTED_CALLER } from '../access/control.js';
import { accessPolicyOf } from '../access/policy.js';
import type { Engine } from '../engines/engine.js';
import { DefinitionError, TallyError } from '../errors.js';
import { loadProject, type Project } from '../project.js';
import type { QueryResult } from '../run.js';
import type { CacheOptions, TtlCache } from './cache.js';
import { DEFAULT_LIMITS, type Limits, QueryGate } from './limits.js';
import { createLogger, type Logger } from './log.js';
import { armor, authenticateFirst, type RequestEntries, requestLog, responseCache } from './plugins.js';
import { QueryRunner } from './query-runner.js';
import { bodyRefusal, checkVariables, errorCodes, MAX_VARIABLE_NESTING } from './request-guards.js';
import { serveCatalogAsset } from '../web/assets.js';
import { type ApiContext, buildSchema } from './schema.js';
import { DataHealth } from '../checks/health.js';
import type { RollupStore } from '../rollups/store.js';
import type { ServedRollupStore } from '../rollups/source.js';
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
  rollupStore?: Pick<RollupStore, 'engine' | 'list'> & Partial<Pick<ServedRollupStore, 'stamp'>>;
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
  /** Who each HTTP request is from (authenticated before anything else), and what it did, for its log line. */
  private readonly requests: RequestEntries = new WeakMap();
  /** Answers requests for metrics: caches, compiling, the fair queue and cancellation. */
  private readonly runner: QueryRunner;
  /** The last reload's problems; cleared by the next successful reload. */
  reloadProblem?: string;
  /** Answers by definitions version and request; absent when the answer cache is off. */
  get results(): TtlCache<QueryResult> | undefined {
    return this.runner.results;
  }
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
    this.runner = new QueryRunner(options.engine, this.limits, this.gate, this.logger, cache, { store: options.rollupStore, database: options.database });
    this.served = this.load();
    this.yoga = createYoga<Record<string, unknown>, ApiContext>({
      schema: () => this.served.schema,
      context: async ({ request }) => this.context(request, await this.callerOf(request)),
      // Authentication comes first, before the response cache, parsing and validation: a request
      // without valid credentials learns nothing, not even whether its document is valid.
      plugins: [
        authenticateFirst(this.requests, options.auth),
        requestLog(this.requests, this.logger),
        armor(this.limits),
        checkVariables(MAX_VARIABLE_NESTING),
        errorCodes(),
        // Keyed also by the rollup store's stamp: a new build or a range found stale changes the answer.
        ...(cache ? [responseCache(cache, () => `${this.served.project.version}\0${options.rollupStore?.stamp?.() ?? ''}`)] : []),
      ],
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
      // handle() refuses a body over limits.maxBodyBytes by its Content-Length, and one without a
      // Content-Length, before yoga sees it; Node reads no more than the length announced. Yoga's
      // own limit would copy every body through a stream transform to count bytes already bounded.
      maxRequestBodySize: false,
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

  private context(httpRequest: Request, caller: Caller): ApiContext {
    const { project, access } = this.served;
    const entry = this.requests.get(httpRequest);
    const log = entry?.log;
    const gateKey = entry?.gateKey ?? caller.id;
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
      run: (input, filters, runOptions): Promise<QueryResult> =>
        this.runner.run(project, access, {
          caller,
          gateKey,
          log,
          // A client that goes away cancels its statements (the server's shutdown cancels every
          // run). Read only when a statement runs: the request makes its signal on first use.
          get signal() {
            return httpRequest.signal;
          },
        }, input, filters, runOptions),
    };
  }

  reload(): boolean {
    try {
      const next = this.load();
      if (next.project.version !== this.served.project.version) {
        this.served = next;
        this.runner.clear();
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
    this.runner.cancelAll();
    await this.watching?.catch(() => undefined);
    await this.watcher?.close();
    const http = this.http;
    if (http) {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  }
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
