/**
 * The GraphQL API over HTTP (graphql-yoga), with GraphiQL in the browser. Every request goes
 * through the same compile-and-run path as the CLI and the library.
 */
import { createHash, randomUUID } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { createInMemoryCache, useResponseCache } from '@graphql-yoga/plugin-response-cache';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { type Authenticator } from '../access/authenticate.js';
import { AccessControl, type Caller, TRUSTED_CALLER } from '../access/control.js';
import { accessPolicyOf } from '../access/policy.js';
import { compileRequest, type CompiledQuery } from '../compile.js';
import type { Engine, ResultSet } from '../engines/engine.js';
import { DefinitionError, TallyError } from '../errors.js';
import { loadProject, type Project } from '../project.js';
import type { Expression } from '../query/expression.js';
import type { RequestInput } from '../query/request.js';
import { answerOf, type QueryResult } from '../run.js';
import { type CacheOptions, TtlCache } from './cache.js';
import { DEFAULT_LIMITS, type Limits, QueryGate } from './limits.js';
import { serveCatalogAsset } from '../web/assets.js';
import { type ApiContext, buildSchema } from './schema.js';
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
  log?: (line: string) => void;
}

interface Served {
  project: Project;
  schema: GraphQLSchema;
  access: AccessControl;
}

export class TallyServer {
  private served: Served;
  private readonly inFlight = new Map<string, Promise<ResultSet>>();
  /** Answers by definitions version and request. */
  readonly results?: TtlCache<QueryResult>;
  /** Compiled SQL is kept whatever the answer cache does: it only changes with the definitions. */
  private readonly compiled = new TtlCache<CompiledQuery>({ ttlMs: 3_600_000, maxEntries: 1000 });
  private watcher?: FSWatcher;
  private http?: Server;
  readonly yoga: YogaServerInstance<Record<string, unknown>, ApiContext>;
  private readonly log: (line: string) => void;
  readonly limits: Limits;
  /** Engine queries running at once, and the queue in front of them. */
  readonly gate: QueryGate;

  constructor(private readonly options: ServerOptions) {
    this.log = options.log ?? ((line) => console.log(line));
    this.limits = { ...DEFAULT_LIMITS, ...options.limits, ...(options.timeoutMs !== undefined ? { queryTimeoutMs: options.timeoutMs } : {}) };
    this.gate = new QueryGate(this.limits.maxConcurrentQueries, this.limits.maxQueuedQueries);
    const cache = options.cache ?? { ttlMs: 60_000, maxEntries: 1000 };
    if (cache) this.results = new TtlCache(cache);
    this.served = this.load();
    this.yoga = createYoga<Record<string, unknown>, ApiContext>({
      schema: () => this.served.schema,
      context: async ({ request }) => this.context(await this.authenticate(request)),
      plugins: [this.armor(), variableNesting(MAX_VARIABLE_NESTING), errorCodes(), ...(cache ? [this.responseCache(cache)] : [])],
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
          this.log(`internal error: ${original instanceof Error ? (original.stack ?? original.message) : String(original)}`);
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

  /** The caller of a request; UNAUTHENTICATED (HTTP 401) without valid credentials where they are required. */
  private async authenticate(request: Request): Promise<Caller> {
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
      includeExtensionMetadata: false,
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

  private context(caller: Caller): ApiContext {
    const { project, access } = this.served;
    return {
      visibleMetrics: () => access.visibleMetrics(caller),
      // An experiment reads its metrics under the caller's policy: FORBIDDEN, or their row filters.
      readExperiment: async (name) => {
        const def = experimentsOf(project.graph).get(name)?.def;
        const rowFilters = def ? access.authorize(caller, { metrics: [...def.primary_metrics, ...def.guardrail_metrics] }) : [];
        const timeoutMs = this.limits.queryTimeoutMs;
        return this.gate.run(() => readExperiment(project, this.options.engine, name, { rowFilters, timeoutMs }), timeoutMs);
      },
      run: async (input, filters): Promise<QueryResult> => {
        if (input.where !== undefined && input.where.length > this.limits.maxFilterLength) {
          throw new TallyError('REQUEST_TOO_LARGE', `the filter is ${input.where.length} characters long, more than the ${this.limits.maxFilterLength} this server accepts; shorten it`);
        }
        // What the caller may see: FORBIDDEN, or the row filters every metric leaf is compiled with.
        const rowFilters = access.authorize(caller, input, filters);
        // One row more than the limit is read, so that an answer over the limit is known as such.
        const maxRows = this.limits.maxRows;
        const request: RequestInput = input.limit !== undefined && input.limit <= maxRows ? input : { ...input, limit: maxRows + 1 };
        // Requests are keyed by definitions version, the request and the caller's row filters: an
        // answer computed by older definitions, or for a caller who sees other rows, is never served.
        const key = `${project.version}\0${JSON.stringify(request)}\0${JSON.stringify(filters)}\0${JSON.stringify(rowFilters)}`;
        const answered = this.results?.get(key);
        if (answered) return answered;
        const compiled = this.compile(key, project, request, filters, rowFilters);
        const result = await this.execute(project.version, compiled.sql);
        if (result.rows.length > maxRows) {
          throw new TallyError('TOO_MANY_ROWS', `the answer has more than ${maxRows} rows, the most this server returns; narrow it with a filter, a shorter time range, a coarser grain or a limit`);
        }
        const answer = answerOf(project, compiled, result);
        this.results?.set(key, answer);
        return answer;
      },
    };
  }

  private compile(key: string, project: Project, request: RequestInput, filters: Expression[], rowFilters: Expression[]): CompiledQuery {
    const cached = this.compiled.get(key);
    if (cached) return cached;
    const dialect = this.options.engine.dialect;
    let compiled: CompiledQuery;
    try {
      compiled = compileRequest(project.graph, request, { dialect, filters, rowFilters });
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

  /** Identical requests that arrive while one is running share its run: the SQL runs once. */
  private execute(version: string, sql: string): Promise<ResultSet> {
    const key = `${version}\0${sql}`;
    const running = this.inFlight.get(key);
    if (running) return running;
    const timeoutMs = this.limits.queryTimeoutMs;
    const promise = this.gate.run(() => this.options.engine.query(sql, { timeoutMs }), timeoutMs).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise);
    return promise;
  }

  reload(): boolean {
    try {
      const next = this.load();
      if (next.project.version !== this.served.project.version) {
        this.served = next;
        this.results?.clear();
        this.compiled.clear();
        this.log(`definitions reloaded: version ${next.project.version}`);
      }
      return true;
    } catch (e) {
      const detail = e instanceof DefinitionError ? e.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`).join('\n') : (e as Error).message;
      this.log(`definitions not reloaded, still serving version ${this.served.project.version}:\n${detail}`);
      return false;
    }
  }

  private startWatching(): void {
    let timer: NodeJS.Timeout | undefined;
    this.watcher = watch(join(this.options.projectDir, 'metrics'), { recursive: true }, () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.reload(), 100);
    });
  }

  async listen(port: number, host: string): Promise<string> {
    // The catalog page at / (and its assets) beside the API; everything else is GraphQL's.
    const http = createServer((req, res) => {
      if (serveCatalogAsset(req, res)) return;
      const refusal = bodyRefusal(req, this.limits.maxBodyBytes);
      if (refusal) {
        res.writeHead(refusal.status, { 'content-type': 'application/json', connection: 'close' });
        res.end(JSON.stringify({ errors: [{ message: refusal.message, extensions: { code: 'REQUEST_TOO_LARGE' } }] }));
        req.resume();
        return;
      }
      void this.yoga(req, res);
    });
    this.http = http;
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => resolve());
    });
    const address = http.address() as AddressInfo;
    return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}/graphql`;
  }

  async close(): Promise<void> {
    this.watcher?.close();
    const http = this.http;
    if (http) {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  }
}

/** Variables nest at most this deep: GraphQL's own limits count the document, not its variables. */
const MAX_VARIABLE_NESTING = 64;

/** Refuses variables nested deeper than `max` (they would exhaust the stack while being coerced). */
function variableNesting(max: number): Plugin {
  return {
    onParams({ params, setResult }) {
      if (nestingOf(params.variables, max) > max) {
        setResult({ errors: [new GraphQLError(`the variables are nested more than ${max} deep; flatten the filter (use in: [...] instead of nested or)`, { extensions: { code: 'REQUEST_TOO_LARGE' } })] });
      }
    },
  };
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
