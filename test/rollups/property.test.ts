/**
 * A property-style comparison of routing against the base tables: random requests (fixed seed)
 * over the example metrics, group-bys, grains, filters, ranges, orders, limits, gap filling, time
 * zones and row filters, each answered with and without rollups; the answers must be equal
 * (columns, types, rows, and row order where the request orders). Independent truth: the same
 * request read from the base tables (`rollups` left out), which the routing must reproduce.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine } from '../../src/engines/duckdb.js';
import type { Project } from '../../src/project.js';
import { parseExpressionCached } from '../../src/query/parse-cache.js';
import type { RequestInput } from '../../src/query/request.js';
import type { OpenRollupSource } from '../../src/rollups/source.js';
import type { RollupStore } from '../../src/rollups/store.js';
import { runQuery } from '../../src/run.js';
import { expectSameRows } from '../helpers/fixture-db.js';
import { type BuiltDemo, builtDemo, exampleWith } from './helpers.js';

const ROLLUPS = `
rollups:
  - name: orders_daily
    metrics: [revenue, orders, paid_orders, average_order_value, items_sold, revenue_mtd]
    dimensions: [user.country, order.status]
  - name: orders_by_plan_weekly
    metrics: [revenue, orders]
    dimensions: [user.plan]
    grain: week
    partition: week
  - name: activity_daily
    metrics: [dau, wau, mau, average_dau, stickiness, searches, search_clicks, search_ctr, new_users]
    dimensions: [user.country, user.plan]
  - name: activity_daily_plain
    metrics: [dau, mau, searches]
  - name: conversion_monthly
    metrics: [signup_to_paid_order_7d]
    grain: month
`;

const METRICS = ['revenue', 'orders', 'paid_orders', 'average_order_value', 'items_sold', 'revenue_mtd', 'dau', 'wau', 'mau', 'average_dau', 'stickiness', 'searches', 'search_clicks', 'search_ctr', 'new_users', 'signup_to_paid_order_7d', 'revenue_growth_mom'];
const DIMS = ['user.country', 'user.plan', 'order.status'];
const GRAINS = ['day', 'week', 'month', 'quarter', 'year'];
const WHERES = [
  undefined,
  "user.country = 'US'",
  "user.country <> 'US'",
  "NOT (user.country = 'US')",
  "user.country IN ('US', 'DE') OR user.plan = 'pro'",
  "user.plan NOT IN ('free')",
  'user.country IS NULL',
  'user.country IS NOT NULL',
  "order.status = 'paid'",
  "metric_time.month >= '2025-03-01'",
  "metric_time.day < '2025-02-15'",
];
const RANGES: [string | undefined, string | undefined][] = [
  ['2025-01-01', '2025-03-31'],
  ['2025-01-01', '2025-03-31'],
  ['2025-02-01', '2025-02-28'],
  ['2025-01-01', '2025-01-31'],
  ['2024-12-30', '2025-02-02'],
  ['2025-02-01', '2025-02-28'],
  ['2025-01-15', '2025-04-14'],
  ['2024-01-01', '2026-12-31'],
  ['2025-02-03', '2025-03-02'],
  [undefined, undefined],
  ['2025-01-01', undefined],
];
const ZONES = ['UTC', 'UTC', 'UTC', 'America/New_York'];

/** mulberry32: a small seeded generator, so every run asks the same requests. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let demo: BuiltDemo;
let base: DuckDBEngine;
let store: RollupStore;
let project: Project;
let rollups: OpenRollupSource;

beforeAll(async () => {
  project = exampleWith(ROLLUPS);
  demo = await builtDemo(project, { events: 3_000, seed: 11, prefix: 'property' });
  ({ base, store, rollups } = demo);
}, 120_000);

afterAll(async () => {
  await demo?.close();
});

describe('routed answers equal base answers for random requests', () => {
  it('holds for 250 requests (seed 18)', async () => {
    const next = rng(18);
    const pick = <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)];
    let served = 0;
    const failures: string[] = [];
    for (let i = 0; i < 250; i++) {
      const metrics = [...new Set([pick(METRICS), ...(next() < 0.4 ? [pick(METRICS)] : [])])];
      const grain = pick(GRAINS);
      const dims = DIMS.filter(() => next() < 0.3);
      const [from, to] = pick(RANGES);
      const groupBy = next() < 0.1 ? dims : [`metric_time.${grain}`, ...dims];
      const ordered = next() < 0.5 && groupBy.length > 0;
      const request: RequestInput = {
        metrics,
        groupBy,
        from,
        to,
        where: pick(WHERES),
        timeZone: pick(ZONES),
        fillGaps: next() < 0.3,
        orderBy: ordered ? groupBy.map((g) => (next() < 0.5 ? `-${g}` : g)) : [],
        limit: ordered && next() < 0.5 ? 1 + Math.floor(next() * 20) : undefined,
      };
      const rowFilters = next() < 0.3 ? [parseExpressionCached(pick(["user.country = 'US'", "user.plan <> 'free'", "user.country IN ('DE', 'GB')"]), 'row filter')] : [];
      const label = `#${i} ${JSON.stringify(request)} rowFilters=${rowFilters.length}`;
      let plain;
      try {
        plain = await runQuery(project, base, request, { rowFilters });
      } catch (e) {
        // A request the base refuses must be refused the same way when routed.
        await expect(runQuery(project, base, request, { rowFilters, rollups: rollups.source }), label).rejects.toThrow((e as Error).message);
        continue;
      }
      const routed = await runQuery(project, base, request, { rowFilters, rollups: rollups.source });
      if (routed.rollups?.served) served += 1;
      try {
        expect(routed.columns, label).toEqual(plain.columns);
        expectSameRows(routed.rows, plain.rows, { ordered });
      } catch (e) {
        failures.push(`${label} served=${routed.rollups?.served} ${routed.rollups?.rollups.map((r) => r.name).join(',')}\n${(e as Error).message.slice(0, 1500)}`);
      }
    }
    expect(failures, failures.join('\n\n')).toEqual([]);
    // The matrix must exercise routing, not only fall through.
    expect(served).toBeGreaterThan(20);
  }, 120_000);
});
