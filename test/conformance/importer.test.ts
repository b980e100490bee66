/**
 * The dbt importer on its own: Jinja filter references translated to Tally references, what
 * cannot be mapped reported at file:line:col, a dbt project (semantic_models lists, ref() models,
 * a time spine configured on a model) loaded directly and queried, and the `tally import dbt`
 * command. Expected values are written by hand or computed by hand-written SQL.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilterTranslationError, translateFilter } from '../../src/importers/dbt/filter.js';
import { importDbtSources, loadDbtProject } from '../../src/importers/dbt/index.js';
import { DuckDBEngine, runQuery } from '../../src/index.js';
import { REFERENCE, REFERENCE_MISSING } from './reference.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('filter translation', () => {
  const cases: [string, string][] = [
    ["{{ Dimension('listing__country_latest') }} = 'us'", "listing.country_latest = 'us'"],
    ["{{ Dimension('country_latest', entity_path=['listing']) }} = 'us'", "listing.country_latest = 'us'"],
    ["{{ Dimension('user__home_state', entity_path=()) }}", 'user.home_state'],
    ["{{ TimeDimension('metric_time', 'month') }} >= '2020-01-01'", "metric_time.month >= '2020-01-01'"],
    ["{{ TimeDimension('booking__ds', time_granularity_name='week') }} IS NULL", 'booking.ds.week IS NULL'],
    ["{{ Dimension('booking__ds').grain('month') }}", 'booking.ds.month'],
    ["{{ TimeDimension('metric_time', date_part_name='dow') }} = 1", 'metric_time.extract_dow = 1'],
    ["{{ Entity('listing') }} IS NOT NULL", 'listing IS NOT NULL'],
    ["{{ Entity('listing', entity_path=['view']) }} IS NOT NULL", 'view.listing IS NOT NULL'],
    ["{{ Metric('bookings', group_by=['listing']) }} > 2", 'listing.bookings > 2'],
    ["{{ Metric('txn_count', group_by=['account_id__customer_id__customer_third_hop_id']) }} > 0", 'account_id.customer_id.customer_third_hop_id.txn_count > 0'],
    ["CAST({{ TimeDimension('metric_time', 'day') }} AS TIMESTAMP) >= CAST('2020-01-01' AS TIMESTAMP)", "metric_time.day >= '2020-01-01'"],
    ["metric_time__day >= '2020-01-01' AND listing__country = 'a__b'", "metric_time.day >= '2020-01-01' AND listing.country = 'a__b'"],
    ['NOT {{ Dimension("booking__is_instant") }}', 'NOT booking.is_instant'],
  ];
  for (const [dbt, tally] of cases) {
    it(dbt, () => expect(translateFilter(dbt)).toBe(tally));
  }

  it('refuses what it cannot translate, with the offset of the problem', () => {
    const refuse = (text: string): FilterTranslationError => {
      try {
        translateFilter(text);
      } catch (e) {
        expect(e).toBeInstanceOf(FilterTranslationError);
        return e as FilterTranslationError;
      }
      throw new Error(`expected ${text} to be refused`);
    };
    expect(refuse("x = 1 AND {{ Measure('bookings') }} > 1").message).toMatch(/not one of Dimension, TimeDimension, Entity or Metric/);
    expect(refuse("{{ Metric('bookings') }} > 1").message).toMatch(/grouped by exactly one entity/);
    expect(refuse("{{ Dimension('a') ").offset).toBe(0);
    expect(refuse("{% if x %}{{ Dimension('a') }}{% endif %}").message).toMatch(/Jinja statements/);
  });
});

const PROBLEMS = `semantic_models:
  - name: orders
    model: ref('orders')
    entities:
      - name: order
        type: primary
        expr: order_id
    dimensions:
      - name: status
        type: categorical
        mystery: 1
    measures:
      - name: revenue
        agg: median_absolute
metrics:
  - name: weird
    type: derived_ratio
  - name: filtered
    type: simple
    type_params:
      measure: revenue
    filter: "{{ Measure('revenue') }} > 1"
`;

describe('import problems', () => {
  it('are reported at file:line:col; what only dbt needs is dropped with a warning', () => {
    const result = importDbtSources([
      { display: 'models/orders.yml', relativePath: 'orders.yml', text: PROBLEMS },
      {
        display: 'models/spine.yml',
        relativePath: 'spine.yml',
        text: 'project_configuration:\n  time_spines:\n    - node_relation: { alias: spine_ns, schema_name: $source_schema }\n      primary_column: { name: ts, time_granularity: nanosecond }\n    - node_relation: { alias: spine, schema_name: $source_schema }\n      primary_column: { name: ds, time_granularity: day }\n',
      },
    ]);
    expect(result.failed).toBe(true);
    const lines = result.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.severity}`);
    expect(lines).toEqual([
      'models/orders.yml:11:18: error', // mystery
      'models/orders.yml:14:14: error', // agg
      'models/orders.yml:17:11: error', // metric type
      'models/orders.yml:22:13: error', // filter
      'models/spine.yml:4:53: warning', // nanosecond spine
      'models/spine.yml:5:22: error', // $source_schema without a value
    ]);
    expect(result.problems[0].message).toMatch(/Tally cannot map 'mystery'/);
    expect(result.problems[1].message).toMatch(/median_absolute/);
    expect(result.problems[3].message).toMatch(/'Measure' is not one of/);
    expect(result.problems[5].message).toMatch(/--var source_schema=/);
  });
});

/** A small dbt project: orders by customer, a time spine configured on a model. */
const PROJECT: Record<string, string> = {
  'models/semantic.yml': `version: 2
semantic_models:
  - name: orders
    description: One row per order.
    model: ref('orders')
    defaults:
      agg_time_dimension: ordered_at
    entities:
      - name: order
        type: primary
        expr: order_id
      - name: customer
        type: foreign
        expr: customer_id
    dimensions:
      - name: ordered_at
        type: time
        type_params:
          time_granularity: day
      - name: channel
        type: categorical
    measures:
      - name: revenue
        agg: sum
        expr: amount
        create_metric: true
      - name: order_count
        agg: count
        expr: order_id
        create_metric: true
  - name: customers
    model: ref('customers')
    entities:
      - name: customer
        type: primary
        expr: customer_id
    dimensions:
      - name: country
        type: categorical
metrics:
  - name: web_revenue
    label: Web revenue
    type: simple
    type_params:
      measure: revenue
    filter: "{{ Dimension('order__channel') }} = 'web'"
  - name: revenue_per_order
    type: ratio
    type_params:
      numerator: revenue
      denominator:
        name: order_count
  - name: revenue_growth
    type: derived
    type_params:
      expr: revenue - revenue_prev
      metrics:
        - name: revenue
        - name: revenue
          alias: revenue_prev
          offset_window: 1 day
saved_queries:
  - name: revenue_by_country
    query_params:
      metrics: [revenue]
      group_by: ["Dimension('customer__country')"]
      where: ["{{ Dimension('customer__country') }} IS NOT NULL"]
`,
  'models/time_spine.yml': `version: 2
models:
  - name: time_spine
    time_spine:
      standard_granularity_column: date_day
    columns:
      - name: date_day
        granularity: day
`,
};

describe('a dbt project loaded directly', () => {
  let dir: string;
  let engine: DuckDBEngine;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tally-dbt-'));
    for (const [path, text] of Object.entries(PROJECT)) {
      const full = join(dir, path);
      rmSync(full, { force: true });
      spawnSync('mkdir', ['-p', join(full, '..')]);
      writeFileSync(full, text);
    }
    engine = await DuckDBEngine.open({ path: ':memory:' });
    await engine.query(`
      CREATE TABLE orders AS SELECT * FROM (VALUES
        (1, 10, 'web', TIMESTAMP '2024-01-01 10:00:00', 5.0),
        (2, 10, 'shop', TIMESTAMP '2024-01-01 12:00:00', 7.5),
        (3, 11, 'web', TIMESTAMP '2024-01-02 09:00:00', 2.5),
        (4, 12, 'web', TIMESTAMP '2024-01-04 09:00:00', 1.0)
      ) AS t(order_id, customer_id, channel, ordered_at, amount);
      CREATE TABLE customers AS SELECT * FROM (VALUES (10, 'KR'), (11, 'US')) AS t(customer_id, country);
      CREATE TABLE time_spine AS SELECT CAST(d AS DATE) AS date_day FROM range(DATE '2023-12-25', DATE '2024-01-10', INTERVAL 1 DAY) AS r(d);`);
  });

  afterAll(async () => {
    await engine?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const rows = async (sql: string): Promise<unknown[][]> => (await engine.query(sql)).rows;

  it('maps models, measures (create_metric), every metric type and the saved query', async () => {
    const project = loadDbtProject(dir);
    expect([...project.graph.metrics.keys()].sort()).toEqual(['order_count', 'revenue', 'revenue_growth', 'revenue_per_order', 'web_revenue']);
    expect(project.graph.timeSpines.get('day')?.table).toBe('time_spine');
    const byDay = await runQuery(project, engine, { metrics: ['web_revenue', 'revenue_per_order', 'revenue_growth'], groupBy: ['metric_time.day'] });
    const expected = await rows(`
      WITH d AS (SELECT CAST(ordered_at AS DATE) AS day, SUM(amount) AS revenue, SUM(amount) FILTER (WHERE channel = 'web') AS web, COUNT(order_id) AS n FROM orders GROUP BY 1),
           k AS (SELECT day FROM d UNION SELECT day + 1 FROM d)
      SELECT CAST(k.day AS VARCHAR), d.web, d.revenue / d.n, d.revenue - p.revenue
      FROM k LEFT JOIN d ON d.day = k.day LEFT JOIN d AS p ON p.day = k.day - 1 ORDER BY 1`);
    const numbers = (r: unknown[]): unknown[] => [r[0], ...r.slice(1).map((v) => (v === null ? null : Number(v)))];
    expect(byDay.rows.map((r) => numbers([r['metric_time.day'], r.web_revenue, r.revenue_per_order, r.revenue_growth]))).toEqual(expected.map(numbers));
    const saved = await runQuery(project, engine, { savedQuery: 'revenue_by_country' });
    expect(saved.rows).toEqual([
      { 'customer.country': 'KR', revenue: '12.5' },
      { 'customer.country': 'US', revenue: '2.5' },
    ]);
  });

  it('tally import dbt writes one Tally file per dbt file, which validate', () => {
    const out = mkdtempSync(join(tmpdir(), 'tally-import-'));
    try {
      const run = (...args: string[]): ReturnType<typeof spawnSync> => spawnSync('node', [join(ROOT, 'bin/tally.js'), ...args], { encoding: 'utf8', cwd: ROOT });
      const imported = run('import', 'dbt', dir, '--out', join(out, 'metrics'));
      expect(imported.status, String(imported.stderr)).toBe(0);
      expect(readdirSync(join(out, 'metrics', 'models')).sort()).toEqual(['semantic.yml', 'time_spine.yml']);
      expect(readFileSync(join(out, 'metrics', 'models', 'semantic.yml'), 'utf8')).toContain("filter: order.channel = 'web'");
      const validated = run('-p', out, 'validate');
      expect(validated.status, String(validated.stderr)).toBe(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it.skipIf(REFERENCE_MISSING !== undefined)(REFERENCE_MISSING ?? 'tally import dbt refuses an unfilled $source_schema at file:line:col (MetricFlow scd_manifest)', () => {
    const out = mkdtempSync(join(tmpdir(), 'tally-import-'));
    try {
      const manifest = join(REFERENCE, 'metricflow_semantics/test_helpers/semantic_manifest_yamls/scd_manifest');
      const refused = spawnSync('node', [join(ROOT, 'bin/tally.js'), 'import', 'dbt', manifest, '--out', join(out, 'scd'), '--dry-run'], { encoding: 'utf8', cwd: ROOT });
      expect(refused.status).toBe(1);
      expect(String(refused.stderr)).toMatch(/scd_accounts\.yaml:\d+:\d+: the relation '\$source_schema\.dim_primary_accounts' uses \$source_schema/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
