/**
 * The GraphQL API over HTTP (graphql-yoga), with GraphiQL in the browser. Every request goes
 * through the same compile-and-run path as the CLI and the library.
 */
import { watch, type FSWatcher } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { compileRequest, type CompiledQuery } from '../compile.js';
import type { Engine, ResultSet } from '../engines/engine.js';
import { DefinitionError, TallyError } from '../errors.js';
import { loadProject, type Project } from '../project.js';
import type { Expression } from '../query/expression.js';
import type { RequestInput } from '../query/request.js';
import type { QueryResult } from '../run.js';
import { type CacheOptions, TtlCache } from './cache.js';
import { serveCatalogAsset } from '../web/assets.js';
import { type ApiContext, buildSchema } from './schema.js';

export interface ServerOptions {
  projectDir: string;
  engine: Engine;
  /** Reload definitions when metrics/ changes; a broken edit keeps the last valid version serving. */
  watch?: boolean;
  timeoutMs?: number;
  /** Answers kept for identical requests; `false` turns this cache off. Default: 60 s, 1000 answers. */
  cache?: CacheOptions | false;
  log?: (line: string) => void;
}

interface Served {
  project: Project;
  schema: GraphQLSchema;
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

  constructor(private readonly options: ServerOptions) {
    this.log = options.log ?? ((line) => console.log(line));
    const cache = options.cache ?? { ttlMs: 60_000, maxEntries: 1000 };
    if (cache) this.results = new TtlCache(cache);
    this.served = this.load();
    this.yoga = createYoga<Record<string, unknown>, ApiContext>({
      schema: () => this.served.schema,
      context: () => this.context(),
      renderGraphiQL,
      graphiql: { title: 'Tally', defaultQuery: DEFAULT_QUERY },
      landingPage: false,
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
    return { project, schema: buildSchema(project.graph) };
  }

  private context(): ApiContext {
    const { project } = this.served;
    return {
      run: async (request, filters): Promise<QueryResult> => {
        // Requests are keyed by definitions version and the request itself: an answer computed
        // by older definitions is never served after a reload.
        const key = `${project.version}\0${JSON.stringify(request)}\0${JSON.stringify(filters)}`;
        const answered = this.results?.get(key);
        if (answered) return answered;
        const compiled = this.compile(key, project, request, filters);
        const result = await this.execute(project.version, compiled.sql);
        const names = compiled.columns.map((c) => c.name);
        const answer: QueryResult = {
          columns: compiled.columns.map((c, i) => ({ ...c, type: result.columns[i]?.type ?? 'UNKNOWN' })),
          rows: result.rows.map((row) => Object.fromEntries(names.map((n, i) => [n, row[i]]))),
          sql: compiled.sql,
          version: project.version,
          commit: project.commit,
          lineage: compiled.lineage,
          warnings: compiled.warnings,
        };
        this.results?.set(key, answer);
        return answer;
      },
    };
  }

  private compile(key: string, project: Project, request: RequestInput, filters: Expression[]): CompiledQuery {
    const cached = this.compiled.get(key);
    if (cached) return cached;
    const compiled = compileRequest(project.graph, request, { dialect: this.options.engine.dialect, filters });
    this.compiled.set(key, compiled);
    return compiled;
  }

  /** Identical requests that arrive while one is running share its run: the SQL runs once. */
  private execute(version: string, sql: string): Promise<ResultSet> {
    const key = `${version}\0${sql}`;
    const running = this.inFlight.get(key);
    if (running) return running;
    const promise = this.options.engine.query(sql, { timeoutMs: this.options.timeoutMs }).finally(() => this.inFlight.delete(key));
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
      if (!serveCatalogAsset(req, res)) void this.yoga(req, res);
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
