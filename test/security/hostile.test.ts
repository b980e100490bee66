/**
 * Hostile input through the GraphQL API over loopback: a corpus of attacks (SQL injection
 * classics, comment and quoting tricks, functions outside the allow-list, stacked queries,
 * unicode, huge inputs, deep nesting) and a fast-check property put into every string argument
 * of both queries. Whatever is sent: every answer is data or typed errors (never INTERNAL_ERROR),
 * every statement that reaches DuckDB is one SELECT reading only tables the definitions name and
 * calling only functions Tally's SQL uses, values stay values, and the database is unchanged.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED_FUNCTIONS } from '../../src/query/expression.js';
import { DuckDBEngine, type Engine } from '../../src/index.js';
import { type GqlResponse, type Harness, startHarness } from './harness.js';

const CORPUS: string[] = readFileSync(new URL('./hostile-inputs.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as string)
  .filter((s) => !s.startsWith('# '));

/** Huge inputs, made here rather than stored. */
const HUGE = [
  'x'.repeat(200_000),
  '('.repeat(5_000) + 'TRUE' + ')'.repeat(5_000),
  `user.country = '${'a'.repeat(9_000)}'`,
  Array.from({ length: 2_000 }, (_, i) => `user.country = 'C${i}'`).join(' OR '),
  'NOT '.repeat(2_000) + 'TRUE',
  '\u{1F600}'.repeat(5_000),
];

/** Codes an answer may carry: every one a refusal with a reason, none an internal error. */
const TYPED_CODES = new Set<string>([
  'INVALID_FILTER', 'INVALID_REQUEST', 'UNKNOWN_METRIC', 'UNKNOWN_DIMENSION', 'FAN_OUT_JOIN', 'AMBIGUOUS_JOIN', 'UNSUPPORTED',
  'REQUEST_TOO_LARGE', 'GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST', 'FORBIDDEN',
  // A well-formed filter whose values DuckDB cannot compare (a string against a number).
  'ENGINE_ERROR',
]);

/** Tables the definitions name (models' `table:` and the tables their `sql:` reads). */
const TABLES = new Set(['users', 'events', 'orders', 'order_items', 'products', 'experiment_assignments']);

/**
 * Functions and operators Tally's DuckDB SQL uses, reviewed by hand: the filter language's
 * allow-list, aggregates, time bucketing and the window and series helpers of the planner.
 */
const FUNCTIONS = new Set<string>([
  ...ALLOWED_FUNCTIONS,
  ...['count', 'count_star', 'sum', 'avg', 'min', 'max', 'median', 'quantile_cont', 'quantile_disc', 'approx_quantile', 'bool_or', 'first', 'last'],
  ...['date_trunc', 'date_part', 'datepart', 'isodow', 'isoyear', 'dayofyear', 'to_days', 'to_hours', 'to_minutes', 'to_seconds', 'to_months', 'to_years', 'to_weeks', 'trunc', 'timezone', 'make_timestamp', 'epoch_ms', 'strftime'],
  ...['generate_series', 'range', 'unnest', 'row_number', 'rank', 'dense_rank', 'lag', 'lead', 'first_value', 'last_value'],
  ...['contains', 'starts_with', 'ends_with', 'prefix', 'suffix', 'like_escape', 'ilike_escape', '~~', '!~~', '~~*', '!~~*', 'concat', 'replace', 'strpos'],
  ...['+', '-', '*', '/', '//', '%', 'nullif', 'coalesce', 'greatest', 'least', 'abs', 'round', 'floor', 'ceil', 'ceiling', 'fdiv', 'divide'],
]);

let h: Harness;
let parser: DuckDBEngine;
const seen: string[] = [];
let recording = true;
const FILES = ['/tmp/leak.csv', '/tmp/x', '/tmp/dump', '/tmp/x.db'];
/** Each file's modification time, or null when absent: hostile inputs must create or touch none. */
const fileStates = (): (number | null)[] => FILES.map((f) => (existsSync(f) ? statSync(f).mtimeMs : null));
let filesBefore: (number | null)[] = [];
let fingerprint: string;

/** Every table's rows, every schema object and every attached database, as one string. */
async function fingerprintOf(engine: Engine): Promise<string> {
  recording = false;
  const parts: string[] = [];
  for (const q of ['SELECT database_name, path FROM duckdb_databases() ORDER BY 1', "SELECT schema_name, table_name, estimated_size FROM duckdb_tables() ORDER BY 1, 2", 'SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1']) {
    parts.push(JSON.stringify((await engine.query(q)).rows, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
  }
  for (const t of TABLES) parts.push(String((await engine.query(`SELECT count(*), md5(string_agg(CAST(t AS VARCHAR), '|' ORDER BY CAST(t AS VARCHAR))) FROM ${t} t`)).rows[0]));
  recording = true;
  return parts.join('\n');
}

beforeAll(async () => {
  h = await startHarness({
    engine: async (db) => {
      const inner = await DuckDBEngine.open({ path: db, readOnly: true });
      return { name: inner.name, dialect: inner.dialect, close: () => inner.close(), query: (sql, o) => (recording && seen.push(sql), inner.query(sql, o)) };
    },
  });
  parser = await DuckDBEngine.open({ path: ':memory:' });
  fingerprint = await fingerprintOf(h.engine);
  // Another program may own one of these paths on a shared machine: compare before and after.
  filesBefore = fileStates();
});

afterAll(async () => {
  await parser?.close();
  await h?.close();
});

interface Probe {
  name: string;
  query: string;
  variables: (s: string) => Record<string, unknown>;
}

/** Every string argument of the API, each fed the hostile text. */
const PROBES: Probe[] = [
  { name: 'where', query: 'query ($s: String) { query(metrics: ["orders"], where: $s) { rows } }', variables: (s) => ({ s }) },
  { name: 'where after a filter', query: 'query ($s: String) { query(metrics: ["revenue"], groupBy: ["user.country"], where: $s) { rows } }', variables: (s) => ({ s: `user.country = 'KR' ${s}` }) },
  { name: 'where in parentheses', query: 'query ($s: String) { query(metrics: ["dau"], where: $s) { rows } }', variables: (s) => ({ s: `(${s}) AND TRUE` }) },
  { name: 'metrics', query: 'query ($s: String!) { query(metrics: [$s]) { rows } }', variables: (s) => ({ s }) },
  { name: 'groupBy', query: 'query ($s: String!) { query(metrics: ["orders"], groupBy: [$s]) { rows } }', variables: (s) => ({ s }) },
  { name: 'orderBy', query: 'query ($s: String!) { query(metrics: ["orders"], groupBy: ["user.country"], orderBy: [$s]) { rows } }', variables: (s) => ({ s }) },
  { name: 'from/to', query: 'query ($s: String) { query(metrics: ["orders"], from: $s, to: $s) { rows } }', variables: (s) => ({ s }) },
  { name: 'timeZone', query: 'query ($s: String) { query(metrics: ["orders"], groupBy: ["metric_time.day"], timeZone: $s, limit: 3) { rows } }', variables: (s) => ({ s }) },
  { name: 'typed in', query: 'query ($s: String!) { metrics(filter: { user: { country: { in: [$s, "KR"] } } }) { rows { orders } } }', variables: (s) => ({ s }) },
  { name: 'typed contains', query: 'query ($s: String) { metrics(filter: { order: { status: { contains: $s, notEquals: $s } } }) { rows { orders } } }', variables: (s) => ({ s }) },
  { name: 'typed startsWith/lt', query: 'query ($s: String) { metrics(filter: { user: { plan: { startsWith: $s, lt: $s } } }) { rows { newUsers } } }', variables: (s) => ({ s }) },
  { name: 'typed time', query: 'query ($s: String) { metrics(filter: { metricTime: { gt: $s }, user: { signedUpAt: { grain: $s, lte: $s } } }) { rows { orders } } }', variables: (s) => ({ s }) },
  { name: 'typed between', query: 'query ($s: String!) { metrics(filter: { metricTime: { between: [$s, $s] } }) { rows { dau } } }', variables: (s) => ({ s }) },
  { name: 'typed orderBy', query: 'query ($s: String) { metrics(orderBy: [{ dimension: $s }]) { rows { orders user { country } } } }', variables: (s) => ({ s }) },
  { name: 'typed timeZone/from', query: 'query ($s: String) { metrics(timeZone: $s, from: $s) { rows { orders metricTime(grain: DAY) } } }', variables: (s) => ({ s }) },
];

/** The exact-value probes: hostile text as a value must match exactly the rows equal to it. */
const VALUE_PROBES: Probe[] = [
  { name: 'typed equals', query: 'query ($s: String) { metrics(filter: { user: { country: { equals: $s } } }) { rows { orders } } }', variables: (s) => ({ s }) },
  { name: 'quoted in the filter language', query: 'query ($s: String) { metrics: query(metrics: ["orders"], where: $s) { rows } }', variables: (s) => ({ s: `user.country = '${s.replace(/'/g, "''")}'` }) },
];

async function send(query: string, variables: Record<string, unknown>, caller = 'admin'): Promise<GqlResponse<Record<string, unknown>>> {
  return h.gql(query, variables, h.keys[caller]);
}

function expectTyped(res: GqlResponse<unknown>, what: string): void {
  expect(res.data !== undefined || res.errors !== undefined, what).toBe(true);
  for (const e of res.errors ?? []) expect(TYPED_CODES.has(e.extensions?.code ?? ''), `${what}: ${e.extensions?.code} ${e.message.slice(0, 200)}`).toBe(true);
}

/** Orders of users whose country is exactly `value`, by DuckDB's own comparison of the bytes. */
async function ordersOfCountry(value: string): Promise<number> {
  const hex = Buffer.from(value, 'utf8').toString('hex');
  const r = await parserlessQuery(`SELECT count(*) FROM orders o JOIN users u ON u.user_id = o.user_id WHERE u.country = decode(from_hex('${hex}'))`);
  return Number(r.rows[0][0]);
}

async function expectValueIsData(probe: Probe, s: string): Promise<void> {
  const res = await send(probe.query, probe.variables(s));
  if (res.errors) {
    // Text DuckDB cannot hold (NUL, lone surrogates) or a filter over the length limit may be refused; with a code.
    expectTyped(res, `${probe.name} ${JSON.stringify(s).slice(0, 80)}`);
    return;
  }
  const rows = (res.data!.metrics as { rows: Record<string, unknown>[] }).rows;
  expect(Number(rows[0]?.orders ?? 0), `${probe.name} ${JSON.stringify(s).slice(0, 80)}`).toBe(await ordersOfCountry(s));
}

/** A hand-written query, not recorded as Tally's. */
async function parserlessQuery(sql: string): Promise<{ rows: unknown[][] }> {
  recording = false;
  try {
    return await h.engine.query(sql);
  } finally {
    recording = true;
  }
}

/** Each statement that reached the engine: one SELECT, known tables, allowed functions. */
async function checkStatements(): Promise<number> {
  const statements = seen.splice(0);
  for (const sql of statements) {
    const r = await parser.query(`SELECT json_serialize_sql(decode(from_hex('${Buffer.from(sql, 'utf8').toString('hex')}')))`);
    // DuckDB writes a huge number literal (1e999999) as a bare Infinity, which JSON does not have.
    const json = String(r.rows[0][0]).replace(/:(-?Infinity|NaN)([,}\]])/g, ':"$1"$2');
    const tree = JSON.parse(json) as { error: boolean; error_message?: string; statements: unknown[] };
    expect(tree.error, `${tree.error_message}\n${sql}`).toBe(false);
    expect(tree.statements).toHaveLength(1);
    const ctes = new Set<string>();
    const tables = new Set<string>();
    const functions = new Set<string>();
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (!node || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      if (n.type === 'BASE_TABLE') tables.add(`${String(n.catalog_name ?? '')}.${String(n.schema_name ?? '')}.${String(n.table_name)}`);
      if (n.type === 'TABLE_FUNCTION' || typeof n.function_name === 'string') {
        const fn = n.type === 'TABLE_FUNCTION' ? (n.function as Record<string, unknown>).function_name : n.function_name;
        functions.add(String(fn));
      }
      const map = (n.cte_map as { map?: { key: string }[] } | undefined)?.map;
      for (const entry of map ?? []) ctes.add(entry.key);
      for (const v of Object.values(n)) walk(v);
    };
    walk(tree.statements);
    for (const t of tables) {
      const [catalog, schema, name] = t.split('.');
      expect(catalog === '' && schema === '' && (TABLES.has(name) || ctes.has(name)), `table ${t} in\n${sql}`).toBe(true);
    }
    for (const f of functions) expect(FUNCTIONS.has(f), `function ${f} in\n${sql}`).toBe(true);
  }
  return statements.length;
}

describe('hostile input through the API', () => {
  it(`the corpus (${CORPUS.length} inputs + ${HUGE.length} huge ones) in every string argument: typed errors only, values stay values`, async () => {
    let requests = 0;
    for (const s of [...CORPUS, ...HUGE]) {
      for (const probe of PROBES) {
        expectTyped(await send(probe.query, probe.variables(s)), `${probe.name} ${JSON.stringify(s).slice(0, 80)}`);
        requests += 1;
      }
      for (const probe of VALUE_PROBES) {
        await expectValueIsData(probe, s);
        requests += 1;
      }
      // The hostile text as the GraphQL document itself.
      const raw = await send(s, {});
      expectTyped(raw, `document ${JSON.stringify(s).slice(0, 80)}`);
      requests += 1;
    }
    const statements = await checkStatements();
    expect(statements).toBeGreaterThan(50);
    expect(requests).toBeGreaterThan(3_000);
  }, 240_000);

  it('a restricted caller cannot escape its row filter with hostile filters', async () => {
    for (const s of CORPUS) {
      const res = await send('query ($s: String) { query(metrics: ["orders"], groupBy: ["user.country"], where: $s) { rows } }', { s }, 'kr');
      expectTyped(res, `kr where ${JSON.stringify(s)}`);
      const rows = ((res.data?.query as { rows?: Record<string, unknown>[] } | null)?.rows ?? []);
      for (const row of rows) expect(row['user.country'], `kr where ${JSON.stringify(s)}`).toBe('KR');
    }
    await checkStatements();
  }, 120_000);

  it('property: any text, and any mix of hostile fragments, in any argument is refused with a code or answered as data', async () => {
    const fragment = fc.oneof(fc.constantFrom(...CORPUS), fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.constantFrom("'", '"', ';', '--', '/*', '*/', '(', ')', ' OR ', ' AND ', 'SELECT', '\\', '\u0000'));
    const text = fc.array(fragment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join(''));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PROBES, ...VALUE_PROBES), text, fc.constantFrom('admin', 'kr'), async (probe, s, caller) => {
        if (VALUE_PROBES.includes(probe) && caller === 'admin') {
          await expectValueIsData(probe, s);
          return;
        }
        const res = await send(probe.query, probe.variables(s), caller);
        expectTyped(res, `${probe.name} ${JSON.stringify(s)}`);
      }),
      { numRuns: 400 },
    );
    await checkStatements();
  }, 180_000);

  it('deeply nested typed filters, in variables or in the document, are refused with a code', async () => {
    for (const n of [40, 1_000, 20_000]) {
      let f = '{"user":{"country":{"equals":"KR"}}}';
      for (let i = 0; i < n; i++) f = i % 2 ? `{"not":${f}}` : `{"or":[${f}]}`;
      const body = `{"query":"query ($f: MetricsFilter) { metrics(filter: $f) { rows { orders } } }","variables":{"f":${f}}}`;
      const res = await fetch(h.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${h.keys.admin}` }, body });
      const answer = (await res.json()) as GqlResponse<unknown>;
      expect(['REQUEST_TOO_LARGE', 'INVALID_FILTER'], `variables nested ${n}`).toContain(answer.errors?.[0]?.extensions?.code);
      let inline = 'user: { country: { equals: "KR" } }';
      for (let i = 0; i < Math.min(n, 600); i++) inline = `not: { ${inline} }`;
      expectTyped(await send(`{ metrics(filter: { ${inline} }) { rows { orders } } }`, {}), `inline nested ${n}`);
    }
    const shallow = await send('{ metrics(filter: { not: { not: { user: { country: { equals: "KR" } } } } }) { rows { orders } } }', {});
    expect(shallow.errors).toBeUndefined();
  });

  it('the database is unchanged and no file was written', async () => {
    expect(await fingerprintOf(h.engine)).toBe(fingerprint);
    expect(fileStates(), FILES.join(', ')).toEqual(filesBefore);
  });
});
