/**
 * A restricted caller (an access role, with or without row filters; src/access) learns nothing
 * about rollups or the ranges of data they cover from a refusal: the API's `rollup { reason }`
 * is a fixed sentence, the leaves name no rollup, and the detail goes to the server's log. A
 * served answer still names the rollup that answered it (its own audit record), and the numbers
 * are the base answer's either way. The same refusal given to an unrestricted caller (the library)
 * names the rollups and their covered range, which is what must not reach a restricted one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/project.js';
import { buildRollups } from '../../src/rollups/build.js';
import { RESTRICTED_REFUSAL } from '../../src/rollups/route.js';
import { rollupSourceOf } from '../../src/rollups/source.js';
import { openRollupStore, type RollupStore } from '../../src/rollups/store.js';
import { runQuery } from '../../src/run.js';
import { type Harness, startHarness } from '../security/harness.js';

const QUERY = `query ($m: [String!]!, $g: [String!], $from: String, $to: String, $rollups: Boolean) {
  query(metrics: $m, groupBy: $g, from: $from, to: $to, rollups: $rollups) { rows rollup { served reason rollups { name } } }
}`;

interface Answer {
  query: { rows: Record<string, unknown>[]; rollup: { served: boolean; reason: string | null; rollups: { name: string }[] } | null };
}

let h: Harness;
let store: RollupStore;
const lines: string[] = [];

beforeAll(async () => {
  store = await openRollupStore({ store: 'duckdb', path: ':memory:', schema: 'tally_rollups' });
  h = await startHarness({ events: 3_000, server: { rollupStore: store, cache: false, log: (line) => lines.push(line) } });
  await buildRollups(loadProject(h.dir), h.engine, { store });
}, 300_000);
afterAll(async () => {
  await h?.close();
  await store?.close();
});

async function ask(caller: string, variables: Record<string, unknown>): Promise<Answer['query']> {
  const res = await h.gql<Answer>(QUERY, variables, h.keys[caller]);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.query;
}

describe('refusal reasons for a restricted caller', () => {
  // Beyond the covered range: the detailed reason names each rollup and the range it holds.
  const uncovered = { m: ['orders'], g: ['metric_time.month'], from: '2020-01-01', to: '2025-03-31' };

  it('the detail names rollups and their covered range (what a restricted caller must not learn)', async () => {
    const project = loadProject(h.dir);
    const source = await rollupSourceOf(project, store);
    const open = await runQuery(project, h.engine, { metrics: uncovered.m, groupBy: uncovered.g, from: uncovered.from, to: uncovered.to }, { rollups: source.source });
    expect(open.rollups?.served).toBe(false);
    expect(open.rollups?.reason).toMatch(/orders_daily: the range .* is not within \[\d{4}-\d\d-\d\d, \d{4}-\d\d-\d\d\)/);
  });

  for (const caller of ['kr', 'admin']) {
    it(`${caller} (${caller === 'kr' ? 'a row filter' : 'a role without row filters'}) is told only that rollups did not answer; the log keeps why`, async () => {
      lines.length = 0;
      const refused = await ask(caller, uncovered);
      expect(refused.rollup?.served).toBe(false);
      expect(refused.rollup?.reason).toBe(RESTRICTED_REFUSAL);
      expect(refused.rollup?.rollups).toEqual([]);
      const text = JSON.stringify(refused.rollup);
      for (const name of ['orders_daily', 'activity_daily', 'conversion_monthly', '2024-', '2025-', '2026-']) expect(text).not.toContain(name);
      // The same rows as the base tables.
      const base = await ask(caller, { ...uncovered, rollups: false });
      expect(refused.rows).toEqual(base.rows);
      expect(refused.rows.length).toBeGreaterThan(0);
      // The server's request log line has the detail.
      const logged = lines.map((l) => JSON.parse(l) as { rollupRefusals?: string[] }).flatMap((l) => l.rollupRefusals ?? []);
      expect(logged.join(' ')).toMatch(/orders_daily: the range .* is not within/);
    });
  }

  it('a request a rollup serves still says which rollup answered, with the base answer', async () => {
    const request = { m: ['orders'], g: ['metric_time.month', 'user.country'], from: '2025-01-01', to: '2025-03-31' };
    const served = await ask('kr', request);
    expect(served.rollup).toEqual({ served: true, reason: null, rollups: [{ name: 'orders_daily' }] });
    const base = await ask('kr', { ...request, rollups: false });
    expect(served.rows).toEqual(base.rows);
    expect(served.rows.every((r) => r['user.country'] === 'KR')).toBe(true);
  });
});
