/**
 * Routing against rollups built by the rollup build (src/rollups/build.ts) from the example
 * metrics: the build's tables and records meet the routing contract, so that every request the
 * rules serve equals the base answer exactly, and the others fall through to the base tables.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBEngine } from '../../src/engines/duckdb.js';
import type { Project } from '../../src/project.js';
import type { Expression } from '../../src/query/expression.js';
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
    dimensions: [user.country, user.plan, order.status]
  - name: activity_daily
    metrics: [dau, wau, mau, average_dau, stickiness, searches, search_clicks, search_ctr, new_users]
    dimensions: [user.country, user.plan]
  - name: conversion_by_plan_daily
    metrics: [signup_to_paid_order_7d]
    dimensions: [user.plan]
`;

let demo: BuiltDemo;
let base: DuckDBEngine;
let store: RollupStore;
let project: Project;
let rollups: OpenRollupSource;

beforeAll(async () => {
  project = exampleWith(ROLLUPS);
  demo = await builtDemo(project, { events: 6_000, seed: 5, prefix: 'built' });
  ({ base, store, rollups } = demo);
}, 300_000);

afterAll(async () => {
  await demo?.close();
});

const ROW_FILTER: Expression[] = [parseExpressionCached("user.country = 'US'", 'row filter')];

describe('routing to built rollups', () => {
  it('answers every declared metric exactly as the base tables do', async () => {
    expect(rollups.source.built.map((b) => b.name).sort()).toEqual(['activity_daily', 'conversion_by_plan_daily', 'orders_daily']);
    const metrics = [...project.graph.metrics.keys()].filter((m) => m !== 'revenue_growth_mom');
    const always = new Set(['revenue', 'orders', 'paid_orders', 'average_order_value', 'items_sold', 'searches', 'search_clicks', 'search_ctr', 'new_users']);
    let served = 0;
    for (const metric of metrics) {
      for (const grain of ['day', 'month']) {
        for (const dims of [['user.country'], ['user.country', 'user.plan']]) {
          for (const filtering of ['none', 'where', 'row filter'] as const) {
            const request: RequestInput = { metrics: [metric], groupBy: [`metric_time.${grain}`, ...dims], from: '2024-04-01', to: '2025-09-30', where: filtering === 'where' ? "user.plan IN ('pro', 'plus')" : undefined };
            const rowFilters = filtering === 'row filter' ? ROW_FILTER : [];
            const plain = await runQuery(project, base, request, { rowFilters });
            const routed = await runQuery(project, base, request, { rowFilters, rollups: rollups.source });
            const label = `${metric} by ${grain} ${dims.join('+')}, ${filtering}`;
            if (always.has(metric)) expect(routed.rollups?.served, `${label}: ${routed.rollups?.reason}`).toBe(true);
            expect(routed.columns, label).toEqual(plain.columns);
            expectSameRows(routed.rows, plain.rows);
            if (routed.rollups?.served) served += 1;
          }
        }
      }
    }
    expect(served).toBeGreaterThan(80);
  }, 600_000);

  it('serves a distinct count at exactly the rollup grain and dimensions, and records what answered', async () => {
    const request: RequestInput = { metrics: ['dau', 'mau', 'revenue'], groupBy: ['metric_time.day', 'user.country', 'user.plan'], from: '2025-02-01', to: '2025-02-28' };
    const routed = await runQuery(project, base, request, { rollups: rollups.source });
    // revenue is kept by order status too: its parts add up over it.
    expect(routed.rollups?.served, routed.rollups?.reason).toBe(true);
    const record = rollups.source.built.find((b) => b.name === 'activity_daily');
    expect(routed.rollups?.rollups.find((r) => r.name === 'activity_daily')).toEqual({ name: 'activity_daily', table: record?.table, builtAt: record?.builtAt, version: project.version, fingerprint: record?.fingerprint, checkedAt: { freshness: record?.checkedAt?.freshness } });
    expect(routed.warnings).toEqual([]);
    expectSameRows(routed.rows, (await runQuery(project, base, request)).rows);
  });
});
