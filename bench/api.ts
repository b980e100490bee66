/**
 * The API's cost over the engine: latency over loopback minus the engine's own time, and
 * requests per second with autocannon for a cached and an uncached request, beside a bare
 * graphql-yoga server that answers a constant.
 */
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { createSchema, createYoga } from 'graphql-yoga';
import { authSchema } from '../src/access/auth-config.js';
import { Authenticator, createApiKey } from '../src/access/authenticate.js';
import { TallyServer } from '../src/api/server.js';
import type { Engine } from '../src/engines/engine.js';
import { compileRequest, DuckDBEngine, type Project } from '../src/index.js';
import { median, ms, type Row } from './measure.js';

const DURATION_S = 5;
const CONNECTIONS = 10;

/** A lean keep-alive HTTP client, so that the client's own cost stays out of the measurement. */
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
function post(url: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { errors?: unknown[] };
        if (json.errors) reject(new Error(`benchmark request failed: ${JSON.stringify(json.errors)}`));
        else resolve();
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function rps(url: string, body: string | ((i: number) => string)): Promise<number> {
  let i = 0;
  const result = await autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: DURATION_S,
    headers: { 'content-type': 'application/json' },
    ...(typeof body === 'string' ? { body } : { requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: body(i++) }) }] }),
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`autocannon saw ${result.non2xx} non-2xx answers and ${result.errors} errors at ${url}`);
  return result.requests.average;
}

async function bareYoga(): Promise<{ url: string; close: () => Promise<void> }> {
  const yoga = createYoga({ schema: createSchema({ typeDefs: 'type Query { hello: String! }', resolvers: { Query: { hello: () => 'world' } } }), logging: false });
  const http = createServer(yoga);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/graphql`,
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}

/** One request with a key; resolves to its latency in ms (rejects on an error answer). */
async function timedPost(url: string, body: string, key: string): Promise<number> {
  const t = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
  const json = (await res.json()) as { errors?: unknown[] };
  if (json.errors) throw new Error(`benchmark request failed: ${JSON.stringify(json.errors)}`);
  return performance.now() - t;
}

/**
 * A cheap request's latency from one caller while another caller keeps four heavy requests in
 * flight, with the per-caller share of the engine (3 of 4 slots) and without it (4 of 4): the
 * fair queue keeps a slot for others.
 */
async function fairness(project: Project, db: string): Promise<Row[]> {
  const rows: Row[] = [];
  const heavyKey = createApiKey();
  const cheapKey = createApiKey();
  const auth = Authenticator.fromConfig(authSchema.parse({ api_keys: [{ name: 'heavy', hash: heavyKey.hash }, { name: 'cheap', hash: cheapKey.hash }] }));
  const cheap = JSON.stringify({ query: '{ query(metrics: ["new_users"], groupBy: ["user.plan"]) { rows } }' });
  // Distinct documents, so that no two heavy requests share a run.
  const heavy = (i: number): string => JSON.stringify({ query: `{ query(metrics: ["dau", "searches"], groupBy: ["metric_time.day", "user.country", "event.event_type"], limit: ${90_000 + i}) { rows } }` });
  for (const [label, perCaller] of [
    ['fair share (3 of 4 slots per caller)', 3],
    ['no per-caller share (4 of 4)', 4],
  ] as const) {
    const engine = await DuckDBEngine.open({ path: db, readOnly: true, connections: 4 });
    const server = new TallyServer({ projectDir: project.dir, engine, auth, cache: false, log: () => {}, limits: { maxConcurrentQueries: 4, maxConcurrentQueriesPerCaller: perCaller } });
    const url = await server.listen(0, '127.0.0.1');
    try {
      const idle: number[] = [];
      for (let i = 0; i < 10; i++) idle.push(await timedPost(url, cheap, cheapKey.key));
      const heavyTimes: number[] = [];
      const loaded: number[] = [];
      for (let round = 0; round < 3; round++) {
        let done = 0;
        const inFlight = [0, 1, 2, 3].map((i) => timedPost(url, heavy(round * 4 + i), heavyKey.key).then((t) => (heavyTimes.push(t), (done += 1))));
        // Let the heavy requests take their slots, then ask once while all four are in flight.
        await new Promise((r) => setTimeout(r, 50));
        if (done === 0) loaded.push(await timedPost(url, cheap, cheapKey.key));
        await Promise.all(inFlight);
      }
      if (label.startsWith('fair')) rows.push({ section: 'api', measure: 'cheap request alone (median)', value: ms(median(idle)), target: '-', met: undefined });
      rows.push({ section: 'api', measure: `heavy request, four in flight from one caller (median; ${label})`, value: ms(median(heavyTimes)), target: '-', met: undefined });
      rows.push({
        section: 'api',
        measure: `cheap request from another caller while all four are in flight, median of ${loaded.length} (${label})`,
        value: ms(median(loaded)),
        target: label.startsWith('fair') ? '< heavy' : '-',
        met: label.startsWith('fair') ? median(loaded) < median(heavyTimes) : undefined,
      });
    } finally {
      await server.close();
      await engine.close();
    }
  }
  return rows;
}

export async function apiBenchmarks(project: Project, engine: Engine, db?: string): Promise<Row[]> {
  const rows: Row[] = [];
  const request = { metrics: ['revenue', 'orders'], groupBy: ['user.plan'] };
  const query = (limit?: number): string =>
    JSON.stringify({ query: `{ query(metrics: ["revenue", "orders"], groupBy: ["user.plan"]${limit ? `, limit: ${limit}` : ''}) { rows } }` });
  const quiet = (): void => {};

  // Latency added to the engine's time, with no answer cache: each request's HTTP round trip minus
  // the time its own statement took in the engine (timed around engine.query inside the server),
  // so the engine's variance does not swamp a difference of milliseconds. The bare run of the same
  // SQL beside it is printed for scale.
  let statementMs = 0;
  const timed: Engine = {
    name: engine.name,
    dialect: engine.dialect,
    close: () => engine.close(),
    query: async (q, o) => {
      const t = performance.now();
      try {
        return await engine.query(q, o);
      } finally {
        statementMs += performance.now() - t;
      }
    },
  };
  // The server as deployed, with its caches on (the whole-response cache and the answer cache):
  // every request below is new to both, so each pays for their misses as a real uncached request does.
  const uncached = new TallyServer({ projectDir: project.dir, engine: timed, log: quiet });
  const uncachedUrl = await uncached.listen(0, '127.0.0.1');
  const sql = compileRequest(project.graph, request, { dialect: engine.dialect }).sql;
  // A limit below the server's row cap (100 000) and above the answer's few rows: each value is a
  // new request for Tally (compiled afresh, missing both caches), with the same answer. No value
  // is used twice in this server's life.
  const limitOf = (i: number): number => 10_000 + (i % 80_000);
  // (a) What a dashboard or BI tool sends: one document, new variables each time. An answer-cache
  // miss and a new compile, but yoga's parser and validation caches hit.
  const sameDocument = (i: number): string =>
    JSON.stringify({ query: 'query Q($limit: Int) { query(metrics: ["revenue", "orders"], groupBy: ["user.plan"], limit: $limit) { rows } }', variables: { limit: limitOf(i) } });
  // (b) A new document text each time: parsed and validated afresh as well.
  const newDocument = (i: number): string => query(limitOf(i));
  // For scale, a bare graphql-yoga answering a constant, asked right after each request (the same
  // document every time: its parse and validation are cached), so that the machine's load falls on
  // it and on Tally alike.
  const probe = await bareYoga();
  const constantRtt: number[] = [];
  const overheadOf = async (body: (i: number) => string, offset: number): Promise<{ http: number; added: number; bare: number }> => {
    const http: number[] = [];
    const added: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < 220; i++) {
      statementMs = 0;
      let t = performance.now();
      await post(uncachedUrl, body(offset + i));
      const roundTrip = performance.now() - t;
      if (i >= 20) {
        http.push(roundTrip);
        added.push(roundTrip - statementMs);
      }
      t = performance.now();
      await engine.query(sql);
      if (i >= 20) bare.push(performance.now() - t);
      t = performance.now();
      await post(probe.url, JSON.stringify({ query: '{ hello }' }));
      if (i >= 20) constantRtt.push(performance.now() - t);
    }
    return { http: median(http), added: median(added), bare: median(bare) };
  };
  // Interleaved in halves, so that a change in the machine's load falls on both rows alike.
  const a1 = await overheadOf(sameDocument, 0);
  const b1 = await overheadOf(newDocument, 1000);
  const a2 = await overheadOf(sameDocument, 2000);
  const b2 = await overheadOf(newDocument, 3000);
  await probe.close();
  for (const [label, x, y] of [
    ['(a) same document, new variables each time (dashboards, BI tools)', a1, a2],
    ['(b) a new document text each time (parsed and validated afresh)', b1, b2],
  ] as const) {
    const overhead = (x.added + y.added) / 2;
    rows.push({
      section: 'api',
      measure: `latency added to the engine per uncached request, ${label}: HTTP round trip ${ms((x.http + y.http) / 2)} − its statement's engine time; bare engine ${ms((x.bare + y.bare) / 2)}; response- and answer-cache miss, new compile`,
      value: ms(overhead),
      target: '≤ 1 ms',
      met: overhead <= 1,
    });
  }
  rows.push({ section: 'api', measure: 'for scale: one round trip to a bare graphql-yoga answering a constant (asked between the requests above)', value: ms(median(constantRtt)), target: '-', met: undefined });

  const uncachedRps = await rps(uncachedUrl, (i) => sameDocument(10_000 + i));
  await uncached.close();

  let engineRuns = 0;
  const counted: Engine = { name: engine.name, dialect: engine.dialect, close: () => engine.close(), query: (q, o) => ((engineRuns += 1), engine.query(q, o)) };
  const cached = new TallyServer({ projectDir: project.dir, engine: counted, log: quiet });
  const cachedUrl = await cached.listen(0, '127.0.0.1');
  await post(cachedUrl, query());
  const before = engineRuns;
  const cachedRps = await rps(cachedUrl, query());
  const cachedEngineRuns = engineRuns - before;
  await cached.close();

  const constant = await bareYoga();
  const bareRps = await rps(constant.url, JSON.stringify({ query: '{ hello }' }));
  await constant.close();

  rows.push({ section: 'api', measure: `requests/s, uncached (one document, new variables: every request a different SQL)`, value: uncachedRps.toFixed(0), target: '-', met: undefined });
  rows.push({ section: 'api', measure: `requests/s, cached (the engine ran ${cachedEngineRuns} queries meanwhile)`, value: cachedRps.toFixed(0), target: '-', met: undefined });
  rows.push({ section: 'api', measure: 'requests/s, bare graphql-yoga answering a constant', value: bareRps.toFixed(0), target: '-', met: undefined });
  rows.push({ section: 'api', measure: 'cached / bare graphql-yoga', value: `${((100 * cachedRps) / bareRps).toFixed(0)}%`, target: '≥ 80%', met: cachedRps >= 0.8 * bareRps });
  rows.push({ section: 'api', measure: 'cached / uncached', value: `${(cachedRps / uncachedRps).toFixed(1)}×`, target: '-', met: undefined });
  if (db) rows.push(...(await fairness(project, db)));
  return rows;
}
