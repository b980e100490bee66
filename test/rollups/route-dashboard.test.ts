/**
 * The example project's rollups (metrics/rollups.yml) serve every request the catalog sends for
 * the example dashboard (metrics/dashboards.yml: each tile's trend with its gaps filled, its
 * compared period and its breakdown), each answer equal to the base tables' (issue 18, "Done when").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visibleDashboards } from '../../src/dashboards.js';
import { DuckDBEngine } from '../../src/engines/duckdb.js';
import { loadProject, type Project } from '../../src/project.js';
import type { RequestInput } from '../../src/query/request.js';
import type { OpenRollupSource } from '../../src/rollups/source.js';
import type { RollupStore } from '../../src/rollups/store.js';
import { runQuery } from '../../src/run.js';
import { expectSameRows } from '../helpers/fixture-db.js';
import { type BuiltDemo, builtDemo, ROOT } from './helpers.js';

let demo: BuiltDemo;
let base: DuckDBEngine;
let store: RollupStore;
let project: Project;
let rollups: OpenRollupSource;

beforeAll(async () => {
  project = loadProject(ROOT);
  demo = await builtDemo(project, { events: 6_000, seed: 21, prefix: 'dashboard' });
  ({ base, store, rollups } = demo);
}, 300_000);

afterAll(async () => {
  await demo?.close();
});

/** The catalog's requests for a tile (src/web/public/dashboards.js). */
function tileRequests(): { name: string; request: RequestInput }[] {
  const out: { name: string; request: RequestInput }[] = [];
  for (const dashboard of visibleDashboards(project.graph, undefined)) {
    for (const tile of dashboard.tiles) {
      const key = `metric_time.${tile.grain}`;
      out.push({ name: `${tile.metric} trend`, request: { metrics: [tile.metric], groupBy: [key], orderBy: [key], from: tile.range.from, to: tile.range.to, fillGaps: true } });
      out.push({ name: `${tile.metric} compared`, request: { metrics: [tile.metric], groupBy: [key], orderBy: [key], from: tile.compared.from, to: tile.compared.to } });
      if (tile.breakdown) out.push({ name: `${tile.metric} breakdown`, request: { metrics: [tile.metric], groupBy: [key, tile.breakdown], orderBy: [`-${tile.metric}`, tile.breakdown], from: tile.current.from, to: tile.current.to, limit: 10 } });
    }
  }
  return out;
}

describe('the example dashboard from the example rollups', () => {
  it('serves every tile request, equal to the base tables', async () => {
    const requests = tileRequests();
    expect(requests.length).toBeGreaterThanOrEqual(12);
    for (const { name, request } of requests) {
      const plain = await runQuery(project, base, request);
      const routed = await runQuery(project, base, request, { rollups: rollups.source });
      expect(routed.rollups?.served, `${name}: ${routed.rollups?.reason}`).toBe(true);
      expect(routed.columns, name).toEqual(plain.columns);
      expect(plain.rows.length, name).toBeGreaterThan(0);
      // The breakdown is ordered and limited: the same rows in the same order.
      expectSameRows(routed.rows, plain.rows, { ordered: true });
    }
  }, 300_000);
});
