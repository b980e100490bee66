/**
 * The server's graphql-yoga plugins, in the order they run: authentication before anything else,
 * one log line per request, GraphQL Armor's limits on documents, and the whole-response cache
 * (which sits behind authentication). Each takes what it needs from the server explicitly.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import type { ExecutionResult, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Authenticator } from '../access/authenticate.js';
import { type Caller, TRUSTED_CALLER } from '../access/control.js';
import { TallyError } from '../errors.js';
import { type CacheOptions, TtlCache } from './cache.js';
import type { Limits } from './limits.js';
import type { Logger, RequestLog } from './log.js';
import { MAX_VARIABLE_NESTING, nestingOf } from './request-guards.js';

/** Who an HTTP request is from (authenticated before anything else), and what it did, for its log line. */
export interface RequestEntry {
  caller?: Caller;
  /** The fair queue's key for this request's statements: the caller, or the address of an anonymous one. */
  gateKey: string;
  /** performance.now() when the request arrived. */
  started: number;
  log: RequestLog;
}

/** Entries by request object, dropped with the request. */
export type RequestEntries = WeakMap<Request, RequestEntry>;

/** A GET for GraphiQL's HTML page (without a document), which needs no credentials and gets no log line. */
function isGraphiqlPage(request: Request, withoutDocument: boolean): boolean {
  if (request.method !== 'GET' || !(request.headers.get('accept') ?? '').includes('text/html')) return false;
  return !withoutDocument || !new URL(request.url).searchParams.has('query');
}

/**
 * Every request is authenticated before anything else looks at it (the response cache, the
 * parser, validation); one without valid credentials gets 401 UNAUTHENTICATED and nothing more.
 * GraphiQL's page itself (a GET for HTML) is public; the requests it sends are not. Without an
 * authenticator every caller is trusted.
 */
export function authenticateFirst(requests: RequestEntries, auth: Authenticator | undefined): Plugin {
  return {
    onRequest: async ({ request, serverContext, endResponse, fetchAPI }) => {
      const requestId = randomUUID();
      const address = (serverContext as { req?: IncomingMessage }).req?.socket.remoteAddress ?? 'local';
      const entry: RequestEntry = { gateKey: `address:${address}`, started: performance.now(), caller: undefined, log: { requestId, metrics: [], rows: 0, engineMs: 0, cacheHit: false, statements: 0 } };
      requests.set(request, entry);
      if (isGraphiqlPage(request, true)) return;
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

/** One structured line per request, when its response is ready (see RequestLog); engine failures at warn. */
export function requestLog(requests: RequestEntries, logger: Logger): Plugin {
  return {
    onResultProcess: ({ request, result }) => {
      const entry = requests.get(request);
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
      const entry = requests.get(request);
      if (!entry) return;
      response.headers.set('x-request-id', entry.log.requestId);
      if (isGraphiqlPage(request, false)) return;
      const log: RequestLog = { ...entry.log, status: response.status, totalMs: Math.round(performance.now() - entry.started) };
      log.engineMs = Math.round(log.engineMs);
      if (log.statements === 0 && !log.error && log.metrics.length > 0) log.cacheHit = true;
      if (log.engineError) logger.warn(log, 'request');
      else logger.info(log, 'request');
    },
  };
}

/**
 * Whole responses for repeated identical requests, so that a dashboard's refresh skips parsing,
 * validation and execution. Keyed by definitions version (`version()` is read per request: a
 * reload changes it), the caller's credentials (authentication still runs first) and the document
 * with its variables; responses with errors are never kept. A kept response carries its key as
 * ETag: a request whose own key it is (same credentials, document, variables, version) gets 304 with
 * that key in If-None-Match while the response is kept; any other request is answered in full.
 *
 * Tally's own rather than @graphql-yoga/plugin-response-cache: that plugin rewrites every
 * document to select __typename everywhere and deep-copies every result to collect entities for
 * invalidation by mutations, which Tally has none of; on a miss that cost ~0.15 ms per request
 * (bench/api.ts), more than the rest of the server's own work besides compiling.
 */
export function responseCache(options: CacheOptions, version: () => string): Plugin {
  const kept = new TtlCache<ExecutionResult>(options);
  /** The key of each operation that missed, by its context: its result is kept once it has none of errors. */
  const missed = new WeakMap<object, string>();
  /** Requests whose If-None-Match named their own kept response: answered 304 without a body. */
  const notModified = new WeakMap<Request, { etag: string; lastModified: string }>();
  return {
    onParams: ({ params, request, context, setResult }) => {
      // Variables that checkVariables refuses are nested too deep to stringify: never a key.
      if (nestingOf(params.variables, MAX_VARIABLE_NESTING) > MAX_VARIABLE_NESTING) return;
      const credentials = `${request.headers.get('authorization') ?? ''}\0${request.headers.get('x-api-key') ?? ''}`;
      const session = credentials === '\0' ? '' : createHash('sha256').update(credentials).digest('hex');
      const key = createHash('sha256')
        .update([version(), session, params.operationName ?? '', params.query ?? '', JSON.stringify(params.variables ?? {})].join('\0'))
        .digest('hex');
      const hit = kept.get(key);
      // Read (and removed) by requestLog, which logs whether the response was a cache hit.
      if (hit) setResult({ ...hit, extensions: { ...hit.extensions, responseCache: { hit: true } } });
      else missed.set(context, key);
      // 304 only when the ETag is this request's own key (the same caller, document, variables,
      // version and rollup stamp): any other kept ETag says nothing about this answer.
      const lastModified = (hit?.extensions?.http as { headers?: Record<string, string> } | undefined)?.headers?.['Last-Modified'];
      if (lastModified === undefined || request.headers.get('if-none-match') !== key) return;
      const since = request.headers.get('if-modified-since');
      if (since !== null && !(new Date(since).getTime() >= new Date(lastModified).getTime())) return;
      notModified.set(request, { etag: key, lastModified });
    },
    onResponse: ({ request, setResponse, fetchAPI }) => {
      const unchanged = notModified.get(request);
      if (!unchanged) return;
      notModified.delete(request);
      setResponse(new fetchAPI.Response(null, { status: 304, headers: { ETag: unchanged.etag, 'Last-Modified': unchanged.lastModified } }));
    },
    onExecutionResult: ({ result, context }) => {
      const key = missed.get(context);
      if (key === undefined || !result || !('data' in result || 'errors' in result) || (result.errors?.length ?? 0) > 0 || result.data == null) return;
      missed.delete(context);
      const extensions = (result.extensions ??= {}) as Record<string, unknown>;
      const http = (extensions.http ??= {}) as { headers?: Record<string, string> };
      http.headers = { ...http.headers, ETag: key, 'Last-Modified': new Date().toUTCString() };
      kept.set(key, result);
    },
  };
}

/** GraphQL documents deeper, wider or longer than the limits are refused (REQUEST_TOO_LARGE) before they run. */
export function armor(limits: Pick<Limits, 'maxDepth' | 'maxAliases' | 'maxCost' | 'maxTokens'>): Plugin {
  const tag = (_ctx: unknown, error: GraphQLError): void => {
    (error.extensions as Record<string, unknown>).code = 'REQUEST_TOO_LARGE';
  };
  const callbacks = { onReject: [tag], propagateOnRejection: true };
  return EnvelopArmorPlugin({
    maxDepth: { n: limits.maxDepth, ...callbacks },
    maxAliases: { n: limits.maxAliases, ...callbacks },
    costLimit: { maxCost: limits.maxCost, ...callbacks },
    maxTokens: { n: limits.maxTokens, ...callbacks },
    maxDirectives: { n: 20, ...callbacks },
    // The schema is public and self-documenting: suggestions help more than they reveal.
    blockFieldSuggestion: { enabled: false },
  }) as Plugin;
}
