/**
 * Lineage: which metrics, measures, dimensions, tables and columns an answer reads. Expectations
 * are written by hand from the YAML and SQL below (and metrics/*.yml), not taken from Tally.
 */
import { graphql } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchema } from '../src/api/schema.js';
import { compileRequest, loadProject, projectFromSources } from '../src/index.js';
import { lineageOf } from '../src/lineage.js';

const example = loadProject('.').graph;

/** Measures as `metric: measure <- table.column, …`, the way one reads them off the definitions. */
const measuresOf = (l: { measures: { metric: string; measure: string; columns: { table: string; column: string }[] }[] }): string[] =>
  l.measures.map((m) => `${m.metric}: ${m.measure} <- ${m.columns.map((c) => `${c.table}.${c.column}`).join(', ')}`);
const dimensionsOf = (l: { dimensions: { dimension: string; model: string; columns: { table: string; column: string }[] }[] }): string[] =>
  l.dimensions.map((d) => `${d.dimension} (${d.model}) <- ${d.columns.map((c) => `${c.table}.${c.column}`).join(', ')}`);

const SQL_MODELS = `semantic_models:
  - name: order_lines
    sql: |
      WITH priced AS (
        SELECT l.line_id, l.order_id, l.qty, p.list_price AS price, l.qty * p.list_price AS gross
        FROM shop.lines AS l JOIN shop.prices p ON p.sku = l.sku
      )
      SELECT pr.line_id, pr.qty AS quantity, pr.gross, o.placed_at, o.channel, d.discount
      FROM priced pr
      JOIN (SELECT order_id, placed_at, source AS channel FROM shop.orders) AS o ON o.order_id = pr.order_id
      LEFT JOIN discounts d ON d.line_id = pr.line_id
    defaults: { agg_time_dimension: placed_at }
    entities:
      - { name: line, type: primary, expr: line_id }
    dimensions:
      - { name: placed_at, type: time }
      - { name: channel, type: categorical }
    measures:
      - { name: units, agg: sum, expr: quantity }
      - { name: net, agg: sum, expr: "gross - coalesce(discount, 0)" }
      - { name: lines, agg: count }
  - name: refunds
    sql: |
      SELECT * FROM shop.refunds_2024
      UNION ALL
      SELECT * FROM shop.refunds_2025
    defaults: { agg_time_dimension: refunded_at }
    entities:
      - { name: refund, type: primary, expr: refund_id }
    dimensions:
      - { name: refunded_at, type: time }
    measures:
      - { name: refunded, agg: sum, expr: "amount::decimal(18, 2)" }
metrics:
  - { name: units, type: simple, measure: units, filter: "line.channel = 'web'" }
  - { name: net_sales, type: simple, measure: net }
  - { name: line_count, type: simple, measure: lines }
  - { name: refunded, type: simple, measure: refunded }
`;

describe('column lineage', () => {
  const graph = projectFromSources([{ display: 'm.yml', text: SQL_MODELS }]).graph;

  it('follows a SQL model through aliases, a WITH clause, a join and a subquery in FROM to its tables', () => {
    expect(measuresOf(lineageOf(graph, ['units'])[0])).toEqual(['units: units <- shop.lines.qty']);
    expect(measuresOf(lineageOf(graph, ['net_sales'])[0])).toEqual(['net_sales: net <- shop.lines.qty, shop.prices.list_price, discounts.discount']);
    // count without an expr reads no column
    expect(measuresOf(lineageOf(graph, ['line_count'])[0])).toEqual(['line_count: lines <- ']);
    // the metric's filter reads a renamed column of the subquery
    expect(dimensionsOf(lineageOf(graph, ['units'])[0])).toEqual(['line.channel (order_lines) <- shop.orders.source']);
  });

  it('follows SELECT * and both branches of a UNION', () => {
    expect(measuresOf(lineageOf(graph, ['refunded'])[0])).toEqual(['refunded: refunded <- shop.refunds_2024.amount, shop.refunds_2025.amount']);
  });

  it("groups by metric_time read each measure's own time column", () => {
    const [l] = compileRequest(graph, { metrics: ['units'], groupBy: ['metric_time.month'] }).lineage;
    expect(dimensionsOf(l)).toEqual(['metric_time.month (order_lines) <- shop.orders.placed_at', 'line.channel (order_lines) <- shop.orders.source']);
  });

  it('reads table columns of table models and of the example SQL model', () => {
    const [revenue] = lineageOf(example, ['revenue']);
    expect(measuresOf(revenue)).toEqual(['revenue: order_amount <- orders.amount']);
    expect(dimensionsOf(revenue)).toEqual(['order.status (orders) <- orders.status']);
    const [items] = compileRequest(example, { metrics: ['items_sold'], groupBy: ['metric_time.day'] }).lineage;
    expect(measuresOf(items)).toEqual(['items_sold: quantity_sold <- order_items.quantity']);
    expect(items.measures[0].table).toBe('(sql of model order_items)');
    // order_items' time is orders.ordered_at, joined in by the model's SELECT
    expect(dimensionsOf(items)).toEqual(['metric_time.day (order_items) <- orders.ordered_at']);
  });
});

describe('lineage of composite metrics', () => {
  it('a ratio lists the measures of both inputs, and only the metric asked for gets an entry', () => {
    const lineage = compileRequest(example, { metrics: ['average_order_value'] }).lineage;
    expect(lineage.map((l) => l.metric)).toEqual(['average_order_value']);
    const [aov] = lineage;
    expect(aov.inputs).toEqual(['revenue', 'paid_orders']);
    expect(measuresOf(aov)).toEqual(['revenue: order_amount <- orders.amount', 'paid_orders: order_count <- orders.order_id']);
    expect(aov.computedFrom.map((n) => `${n.metric} (${n.type})`)).toEqual(['revenue (simple)', 'paid_orders (simple)']);
    // both inputs filter on order.status: read once
    expect(dimensionsOf(aov)).toEqual(['order.status (orders) <- orders.status']);
  });

  it('a ratio of two metrics over one measure keeps each metric', () => {
    const [ctr] = lineageOf(example, ['search_ctr']);
    expect(measuresOf(ctr)).toEqual(['search_clicks: search_clicks <- events.event_type', 'searches: searches <- events.event_type']);
  });

  it('a derived metric with an offset input lists its measure once', () => {
    const [growth] = lineageOf(example, ['revenue_growth_mom']);
    expect(growth.inputs).toEqual(['revenue', 'revenue']);
    expect(measuresOf(growth)).toEqual(['revenue: order_amount <- orders.amount']);
    expect(growth.computedFrom.map((n) => n.metric)).toEqual(['revenue']);
  });

  it('a conversion lists its base and conversion measures, and the conversion filter', () => {
    const [conv] = lineageOf(example, ['signup_to_paid_order_7d']);
    expect(measuresOf(conv)).toEqual(['signup_to_paid_order_7d: signed_up_users <- users.user_id', 'signup_to_paid_order_7d: ordering_users <- orders.user_id']);
    expect(dimensionsOf(conv)).toEqual(['order.status (orders) <- orders.status']);
  });

  it("a metric used in the request's filter adds its measures, not its time", () => {
    const [l] = compileRequest(example, { metrics: ['new_users'], groupBy: ['metric_time.month', 'user.country'], where: 'user.orders > 3' }).lineage;
    expect(l.filterMetrics).toEqual(['orders']);
    expect(measuresOf(l)).toEqual(['new_users: signups <- users.user_id', 'orders: order_count <- orders.order_id']);
    expect(dimensionsOf(l)).toEqual(['metric_time.month (users) <- users.signed_up_at', 'user.country (users) <- users.country']);
  });

  it('two metrics asked for: two entries, in the order asked', () => {
    const lineage = compileRequest(example, { metrics: ['orders', 'revenue'] }).lineage;
    expect(lineage.map((l) => `${l.metric}: ${l.measures.map((m) => m.measure).join(', ')}`)).toEqual(['orders: order_count', 'revenue: order_amount']);
  });
});

describe('lineage in the GraphQL API', () => {
  it('the catalog serves columns, dimensions and the metrics a ratio is computed from', async () => {
    const res = await graphql({
      schema: buildSchema(example),
      source: '{ catalog { metrics { name lineage { metric filterMetrics computedFrom { metric type } measures { measure metric columns { table column } } dimensions { dimension columns { table column } } } } } }',
      contextValue: {},
    });
    expect(res.errors).toBeUndefined();
    const metrics = (res.data as { catalog: { metrics: { name: string; lineage: unknown[] }[] } }).catalog.metrics;
    expect(metrics.find((m) => m.name === 'average_order_value')?.lineage).toEqual([
      {
        metric: 'average_order_value',
        filterMetrics: [],
        computedFrom: [
          { metric: 'revenue', type: 'simple' },
          { metric: 'paid_orders', type: 'simple' },
        ],
        measures: [
          { measure: 'order_amount', metric: 'revenue', columns: [{ table: 'orders', column: 'amount' }] },
          { measure: 'order_count', metric: 'paid_orders', columns: [{ table: 'orders', column: 'order_id' }] },
        ],
        dimensions: [{ dimension: 'order.status', columns: [{ table: 'orders', column: 'status' }] }],
      },
    ]);
  });
});
