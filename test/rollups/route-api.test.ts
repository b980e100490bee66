/**
 * The GraphQL API answers from the rollup store where a built rollup serves the request: the
 * `rollup` audit field names it (built at, version, fingerprint), `rollups: false` reads the base
 * tables, and both answers are the same rows.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TallyServer } from '../../src/api/server.js';
import { DuckDBEngine } from '../../src/engines/duckdb.js';
import { cpSync, writeFileSync } from 'node:fs';
import { loadProject } from '../../src/project.js';
import { buildRollups } from '../../src/rollups/build.js';
import { openServedRollupStore } from '../../src/rollups/source.js';
import { openRollupStore, type RollupStore } from '../../src/rollups/store.js';
import { seedDemoDatabase } from '../../src/seed/demo.js';
import { ROOT } from './helpers.js';

let dir: string;
let engine: DuckDBEngine;
let store: RollupStore;
let server: TallyServer;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tally-rollup-api-'));
  cpSync(path.join(ROOT, 'metrics'), path.join(dir, 'metrics'), { recursive: true, filter: (src) => !src.endsWith('rollups.yml') });
  writeFileSync(path.join(dir, 'metrics', 'rollups.yml'), 'rollups:\n  - name: searches_daily\n    metrics: [searches, search_ctr]\n    dimensions: [user.country]\n');
  const file = path.join(dir, 'demo.duckdb');
  await seedDemoDatabase(file, { events: 5_000, seed: 9 });
  engine = await DuckDBEngine.open({ path: file, readOnly: true });
  store = await openRollupStore({ store: 'duckdb', path: ':memory:', schema: 'tally_rollups' });
  await buildRollups(loadProject(dir), engine, { store });
  server = new TallyServer({ projectDir: dir, engine, rollupStore: store, cache: false, log: () => undefined });
  url = await server.listen(0, '127.0.0.1');
}, 180_000);
afterAll(async () => {
  await server?.close();
  await store?.close();
  await engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function graphql(query: string): Promise<{ data?: { query: { rows: unknown[]; sql: string; rollup: { served: boolean; reason: string | null; rollups: { name: string; builtAt: string; version: string; fingerprint: string }[] } | null } }; errors?: unknown[] }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return (await response.json()) as never;
}

describe('GraphQL with rollups', () => {
  const fields = 'rows sql rollup { served reason rollups { name builtAt version fingerprint } }';
  const args = 'metrics: ["searches", "search_ctr"], groupBy: ["metric_time.month", "user.country"], from: "2025-01-01", to: "2025-06-30"';

  it('answers from the rollup and says which, equal to rollups: false', async () => {
    const routed = await graphql(`{ query(${args}) { ${fields} } }`);
    expect(routed.errors).toBeUndefined();
    const built = (await store.list())[0];
    expect(routed.data?.query.rollup).toEqual({ served: true, reason: null, rollups: [{ name: 'searches_daily', builtAt: built.builtAt, version: built.version, fingerprint: built.fingerprint }] });
    const base = await graphql(`{ query(${args}, rollups: false) { ${fields} } }`);
    expect(base.data?.query.rollup).toBeNull();
    expect(base.data?.query.sql).not.toContain('tally_rollups');
    expect(routed.data?.query.rows.length).toBeGreaterThan(10);
    expect(routed.data?.query.rows).toEqual(base.data?.query.rows);
  });

  it('says why a request is not answered from rollups', async () => {
    const out = await graphql(`{ query(metrics: ["searches"], groupBy: ["metric_time.month", "user.plan"], from: "2025-01-01", to: "2025-06-30") { ${fields} } }`);
    expect(out.data?.query.rollup?.served).toBe(false);
    expect(out.data?.query.rollup?.reason).toContain("groups by 'user.plan'");
  });

  it('a server whose rollup store does not exist yet answers from the base tables', async () => {
    const served = await openServedRollupStore(dir, engine);
    const plain = new TallyServer({ projectDir: dir, engine, rollupStore: served, cache: false, log: () => undefined });
    const at = await plain.listen(0, '127.0.0.1');
    try {
      const response = await fetch(at, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ query(metrics: ["searches"], groupBy: ["metric_time.year"]) { rows rollup { served } } }' }) });
      const body = (await response.json()) as { data?: { query: { rows: unknown[]; rollup: unknown } }; errors?: unknown };
      expect(body.errors).toBeUndefined();
      expect(body.data?.query.rows.length).toBeGreaterThan(0);
      expect(body.data?.query.rollup).toBeNull();
    } finally {
      await plain.close();
      await served.close();
    }
  });

  it('a served store sees builds that replace its file, and answers from the new build', async () => {
    const served = await openServedRollupStore(dir, engine);
    try {
      expect(await served.list()).toEqual([]);
      const project = loadProject(dir);
      const [first] = await buildRollups(project, engine, { now: () => new Date('2026-01-01T00:00:00Z') });
      expect((await served.list()).map((b) => b.builtAt)).toEqual([first.builtAt]);
      const [second] = await buildRollups(project, engine, { full: true, now: () => new Date('2026-01-02T00:00:00Z') });
      expect((await served.list()).map((b) => b.builtAt)).toEqual([second.builtAt]);
      const answer = await served.engine.query(`SELECT COUNT(*) FROM ${second.table}`);
      expect(Number(answer.rows[0][0])).toBeGreaterThan(0);
    } finally {
      await served.close();
    }
  });
});
