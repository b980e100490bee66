/**
 * A Tally server over loopback for the security tests: the demo data (small), the project's
 * metrics plus an access policy and a few metrics of the tests' own, API keys for each role and
 * an HS256 secret for tokens. `gql` sends a request as a given caller.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { authSchema } from '../../src/access/auth-config.js';
import { Authenticator, createApiKey } from '../../src/access/authenticate.js';
import { TallyServer, type ServerOptions } from '../../src/api/server.js';
import type { Engine } from '../../src/engines/engine.js';
import { DuckDBEngine } from '../../src/index.js';
import { seedDemoDatabase } from '../../src/seed/demo.js';

export const ACCESS_YML = `# Who may see which number (the tests' policy).
access:
  roles:
    - name: admin
      description: Every metric, every row.
    - name: finance
    - name: analyst
    - name: kr_analyst
      description: Korean market analysts see Korean users only.
      row_filters:
        - { dimension: user.country, claim: country }
    - name: kr_finance
      row_filters:
        - { dimension: user.country, claim: country }
    - name: paid_only
      row_filters:
        - { filter: "order.status IN ('paid', 'shipped')" }
    - name: no_clicks
      row_filters:
        - { dimension: event.event_type, values: [page_view, search, add_to_cart] }
  restricted:
    - metrics: [revenue]
      measures: [order_amount]
      roles: [admin, finance, kr_finance]
`;

export const EXTRA_METRICS_YML = `metrics:
  - name: orders_growth_mom
    type: derived
    description: Month-over-month growth of orders.
    expr: (orders - orders_last_month) / NULLIF(orders_last_month, 0)
    metrics:
      - name: orders
      - { name: orders, alias: orders_last_month, offset_window: 1 month }
  - name: search_clicks_within_1d
    type: conversion
    description: Searches followed by a click on a result within a day.
    entity: user
    base_measure: { name: event_count, filter: "event.event_type = 'search'" }
    conversion_measure: { name: event_count, filter: "event.event_type = 'search_click'" }
    window: 1 day
    calculation: conversions
`;

export const JWT_SECRET = 'a-test-secret-that-is-long-enough-for-hs256!';

export type Credential = string | undefined;

export interface Harness {
  dir: string;
  db: string;
  url: string;
  server: TallyServer;
  engine: Engine;
  /** API keys by caller name. */
  keys: Record<string, string>;
  token(claims: Record<string, unknown>, expiresIn?: string): Promise<string>;
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, credential?: Credential): Promise<GqlResponse<T>>;
  close(): Promise<void>;
}

export interface GqlResponse<T> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** Callers by name: their roles and claims. */
export const CALLERS: Record<string, { roles: string[]; claims?: Record<string, unknown> }> = {
  admin: { roles: ['admin'] },
  finance: { roles: ['finance'] },
  analyst: { roles: ['analyst'] },
  kr: { roles: ['kr_analyst'], claims: { country: 'KR' } },
  kr_finance: { roles: ['kr_finance'], claims: { country: 'KR' } },
  paid_only: { roles: ['paid_only'] },
  no_clicks: { roles: ['no_clicks'] },
  kr_without_claim: { roles: ['kr_analyst'] },
  nobody: { roles: [] },
};

export async function startHarness(options: { events?: number; engine?: (db: string) => Promise<Engine>; server?: Partial<ServerOptions>; anonymous?: boolean } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-sec-'));
  const db = join(dir, 'demo.duckdb');
  await seedDemoDatabase(db, { events: options.events ?? 20_000 });
  cpSync('metrics', join(dir, 'metrics'), { recursive: true });
  writeFileSync(join(dir, 'metrics', 'access.yml'), ACCESS_YML);
  writeFileSync(join(dir, 'metrics', 'security-tests.yml'), EXTRA_METRICS_YML);
  const keys: Record<string, string> = {};
  const apiKeys = Object.entries(CALLERS).map(([name, c]) => {
    const { key, hash } = createApiKey();
    keys[name] = key;
    return { name, hash, roles: c.roles, claims: c.claims ?? {} };
  });
  const auth = Authenticator.fromConfig(
    authSchema.parse({ api_keys: apiKeys, jwt: { secret_env: 'TEST_JWT_SECRET', issuer: 'tests', audience: 'tally' }, anonymous: options.anonymous ?? false }),
    { TEST_JWT_SECRET: JWT_SECRET },
  );
  const engine = options.engine ? await options.engine(db) : await DuckDBEngine.open({ path: db, readOnly: true });
  const server = new TallyServer({ projectDir: dir, engine, auth, log: () => {}, ...options.server });
  const url = await server.listen(0, '127.0.0.1');
  const secret = new TextEncoder().encode(JWT_SECRET);
  return {
    dir,
    db,
    url,
    server,
    engine,
    keys,
    token: (claims, expiresIn = '10m') => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer('tests').setAudience('tally').setSubject('someone').setIssuedAt().setExpirationTime(expiresIn).sign(secret),
    gql: (query, variables, credential) => gql(url, query, variables, credential),
    close: async () => {
      await server.close();
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function gql<T>(url: string, query: string, variables?: Record<string, unknown>, credential?: Credential): Promise<GqlResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(credential ? { authorization: `Bearer ${credential}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<GqlResponse<T>, 'status'>;
  return { status: response.status, ...body };
}

/** Rows of the generic `query` field. */
export const QUERY = `query ($m: [String!]!, $g: [String!], $w: String, $o: [String!], $from: String, $to: String) {
  query(metrics: $m, groupBy: $g, where: $w, orderBy: $o, from: $from, to: $to) { rows sql }
}`;
