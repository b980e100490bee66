/**
 * The metric catalog page end to end in headless Chromium (Debian's, never a downloaded build):
 * a real TallyServer over a small seeded DuckDB on loopback. The numbers the page shows must
 * equal the GraphQL API's answer for the same request and hand-written SQL. Screenshots go to
 * test-artifacts/ for a person to look at.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authSchema } from '../src/access/auth-config.js';
import { Authenticator, createApiKey } from '../src/access/authenticate.js';
import { TallyServer } from '../src/api/server.js';
import { DuckDBEngine } from '../src/index.js';
import { seedDemoDatabase } from '../src/seed/demo.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const dir = mkdtempSync(join(tmpdir(), 'tally-catalog-'));
const db = join(dir, 'demo.duckdb');
const project = join(dir, 'project');
let engine: DuckDBEngine;
let server: TallyServer;
let graphqlUrl: string;
let home: string;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

type Row = Record<string, string | number | null>;
interface RunResult {
  rows: Row[];
  sql: string;
  version: string;
  warnings: string[];
}

async function gql<T>(query: string, variables?: Record<string, unknown>): Promise<T> {
  const response = await fetch(graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors) throw new Error(body.errors.map((e) => e.message).join('\n'));
  return body.data!;
}

/** The API's answer for a request, asked the way any client would. */
async function apiAnswer(request: Record<string, unknown>): Promise<RunResult> {
  const data = await gql<{ query: RunResult }>(
    `query ($metrics: [String!]!, $groupBy: [String!], $orderBy: [String!], $from: String, $to: String, $limit: Int, $fillGaps: Boolean) {
      query(metrics: $metrics, groupBy: $groupBy, orderBy: $orderBy, from: $from, to: $to, limit: $limit, fillGaps: $fillGaps) { rows sql version warnings }
    }`,
    request,
  );
  return data.query;
}

/** What a section of the page shows: the request it made and the [key, value] pairs of its table. */
async function shown(section: 'series' | 'breakdown', table: string): Promise<{ request: Record<string, unknown>; pairs: [string, string][]; texts: string[] }> {
  await page.waitForFunction((id) => ['ready', 'error'].includes(document.getElementById(id)?.dataset.state ?? ''), section);
  if ((await page.getAttribute(`#${section}`, 'data-state')) === 'error') throw new Error(`the page shows an error in #${section}: ${await page.textContent(`#${section}`)}`);
  const request = JSON.parse((await page.getAttribute(`#${section}`, 'data-request'))!) as Record<string, unknown>;
  const pairs = await page.$$eval(`#${table} tbody tr`, (rows) => rows.map((r) => [(r as HTMLElement).dataset.key!, (r as HTMLElement).dataset.value!] as [string, string]));
  const texts = await page.$$eval(`#${table} tbody tr td.num`, (cells) => cells.map((c) => c.textContent ?? ''));
  return { request, pairs, texts };
}

function pairsOf(rows: Row[], key: string, metric: string): [string, string][] {
  return rows.map((r) => [r[key] === null ? '' : String(r[key]), r[metric] === null ? '' : String(r[metric])]);
}

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`the catalog page test needs Debian's Chromium at ${CHROMIUM}; install it with: apt-get update && apt-get install -y chromium (.ci/run does)`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  cpSync('metrics', join(project, 'metrics'), { recursive: true });
  writeFileSync(
    join(project, 'metrics', 'deprecated.yml'),
    `metrics:
  - name: gross_revenue
    type: simple
    description: Old name for revenue.
    owner: finance@shop.example
    measure: order_amount
    filter: "order.status IN ('paid', 'shipped')"
    deprecated:
      replacement: revenue
      reason: Renamed to revenue; dashboards should switch by the end of the quarter.
`,
  );
  await seedDemoDatabase(db, { events: 20_000 });
  engine = await DuckDBEngine.open({ path: db, readOnly: true });
  server = new TallyServer({ projectDir: project, engine, log: () => {} });
  graphqlUrl = await server.listen(0, '127.0.0.1');
  home = graphqlUrl.replace(/graphql$/, '');
  context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
});

afterAll(async () => {
  await context?.close();
  await server?.close();
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('metric catalog page', () => {
  it('serves the page and Chart.js from the server itself, GraphQL beside them', async () => {
    const index = await fetch(home);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(await index.text()).toContain('/assets/vendor/chart.umd.min.js');
    const chart = await fetch(new URL('/assets/vendor/chart.umd.min.js', home));
    expect(chart.status).toBe(200);
    expect(await chart.text()).toContain('Chart.js');
    expect((await fetch(new URL('/assets/../package.json', home))).status).toBe(404);
    expect((await gql<{ catalog: { version: string } }>('{ catalog { version } }')).catalog.version).toMatch(/^[0-9a-f]{12}$/);
  });

  it('lists every metric and searches them', async () => {
    const { catalog } = await gql<{ catalog: { metrics: { name: string }[] } }>('{ catalog { metrics { name } } }');
    await page.goto(home);
    await page.waitForSelector('#metric-list tbody tr');
    const listed = await page.$$eval('#metric-list tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.metric));
    expect(listed.sort()).toEqual(catalog.metrics.map((m) => m.name).sort());
    expect(await page.textContent('#metric-list tr[data-metric="gross_revenue"]')).toContain('deprecated');
    await screenshot('catalog-list');

    await page.fill('#search', 'finance revenue');
    const found = await page.$$eval('#metric-list tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.metric));
    expect(found).toEqual(expect.arrayContaining(['revenue', 'average_order_value', 'revenue_mtd', 'revenue_growth_mom', 'gross_revenue']));
    expect(found).not.toContain('dau');
    expect(found).not.toContain('paid_orders');
    expect(await page.textContent('#result-count')).toBe(`${found.length} of ${catalog.metrics.length} metrics`);
    await screenshot('catalog-search');
  });

  it('a metric page shows the API’s numbers over time and by a dimension, with formula, lineage, SQL and version', async () => {
    await page.click('#metric-list tr[data-metric="revenue"] a');
    await page.waitForURL(/#\/metric\/revenue/);
    const series = await shown('series', 'series-table');
    expect(series.request).toMatchObject({ metrics: ['revenue'], groupBy: ['metric_time.month'] });
    const api = await apiAnswer(series.request);
    expect(series.pairs).toEqual(pairsOf(api.rows, 'metric_time.month', 'revenue'));
    expect(series.pairs.length).toBe(24);
    // What a person reads is the same exact number, with its digits grouped.
    expect(series.texts.map((t) => t.replace(/,/g, ''))).toEqual(series.pairs.map(([, v]) => v));

    // …and the API's numbers are the ones hand-written SQL gives.
    const direct = await engine.query(`SELECT CAST(date_trunc('month', ordered_at) AS DATE), SUM(amount) FROM orders WHERE status IN ('paid', 'shipped') GROUP BY 1 ORDER BY 1`);
    expect(series.pairs).toEqual(direct.rows.map((r) => [String(r[0]), String(r[1])]));

    const breakdown = await shown('breakdown', 'breakdown-table');
    expect(breakdown.request).toMatchObject({ metrics: ['revenue'], groupBy: ['user.country'] });
    expect(breakdown.pairs).toEqual(pairsOf((await apiAnswer(breakdown.request)).rows, 'user.country', 'revenue'));
    expect(breakdown.pairs.length).toBeGreaterThan(3);

    expect(await page.textContent('#formula')).toBe("order_amount where order.status IN ('paid', 'shipped')");
    expect(await page.$('#lineage [data-measure="order_amount"] [data-table="orders"]')).not.toBeNull();
    expect(await page.$('#lineage [data-measure="order_amount"] [data-column="orders.amount"]')).not.toBeNull();
    expect(await page.textContent('#sql')).toBe(api.sql);
    expect(await page.textContent('#definitions-version')).toBe(api.version);
    expect(await page.textContent('#version')).toContain(api.version);
    expect(await page.$('#series-chart')).not.toBeNull();
    await screenshot('catalog-revenue');
  });

  it('a chosen grain, range and dimension ask the API for exactly that', async () => {
    await page.selectOption('#grain', 'quarter');
    await page.fill('#from', '2025-01-01');
    await page.fill('#to', '2025-12-31');
    await page.selectOption('#breakdown-by', 'user.plan');
    const series = await shown('series', 'series-table');
    expect(series.request).toMatchObject({ groupBy: ['metric_time.quarter'], from: '2025-01-01', to: '2025-12-31' });
    expect(series.pairs).toEqual(pairsOf((await apiAnswer(series.request)).rows, 'metric_time.quarter', 'revenue'));
    expect(series.pairs.map(([k]) => k)).toEqual(['2025-01-01', '2025-04-01', '2025-07-01', '2025-10-01']);

    const breakdown = await shown('breakdown', 'breakdown-table');
    expect(breakdown.request).toMatchObject({ groupBy: ['user.plan'], from: '2025-01-01', to: '2025-12-31' });
    const direct = await engine.query(`
      SELECT u.plan, SUM(o.amount) AS revenue FROM orders o JOIN users u USING (user_id)
      WHERE o.status IN ('paid', 'shipped') AND o.ordered_at >= TIMESTAMP '2025-01-01' AND o.ordered_at < TIMESTAMP '2026-01-01'
      GROUP BY 1 ORDER BY revenue DESC`);
    expect(breakdown.pairs).toEqual(direct.rows.map((r) => [String(r[0]), String(r[1])]));
    expect(page.url()).toMatch(/grain=quarter.*from=2025-01-01.*to=2025-12-31.*by=user\.plan/);
    await screenshot('catalog-revenue-by-quarter');

    // The address keeps the choices: opening it again shows the same.
    await page.reload();
    expect((await shown('breakdown', 'breakdown-table')).request).toMatchObject({ groupBy: ['user.plan'], from: '2025-01-01' });
  });

  it('a metric computed per period (WAU) is broken down over its latest period', async () => {
    await page.goto(`${home}#/metric/wau?grain=week`);
    const series = await shown('series', 'series-table');
    expect(series.pairs).toEqual(pairsOf((await apiAnswer(series.request)).rows, 'metric_time.week', 'wau'));
    const breakdown = await shown('breakdown', 'breakdown-table');
    const lastWeek = series.pairs.filter(([, v]) => v !== '').at(-1)![0];
    expect(breakdown.request).toMatchObject({ groupBy: ['metric_time.week', 'user.country'], from: lastWeek, to: lastWeek });
    expect(breakdown.pairs).toEqual(pairsOf((await apiAnswer(breakdown.request)).rows, 'user.country', 'wau'));
    await screenshot('catalog-wau');
  });

  it('a deprecated metric says so and links to its replacement; the API warns too', async () => {
    await page.goto(`${home}#/metric/gross_revenue`);
    const banner = await page.textContent('#deprecation');
    expect(banner).toContain('Use revenue instead');
    expect(banner).toContain('Renamed to revenue');
    const series = await shown('series', 'series-table');
    const api = await apiAnswer(series.request);
    expect(api.warnings).toEqual(["metric 'gross_revenue' is deprecated; use 'revenue' instead: Renamed to revenue; dashboards should switch by the end of the quarter."]);
    expect(series.pairs).toEqual(pairsOf(api.rows, 'metric_time.month', 'gross_revenue'));
    await screenshot('catalog-deprecated');
    await page.click('#deprecation a');
    await page.waitForURL(/#\/metric\/revenue(\?|$)/);
    expect(await page.textContent('#metric-title')).toBe('revenue');
  });

  it('behind authentication, the page asks once for a key, sends it with every request and shows what the API shows', async () => {
    const { key, hash } = createApiKey();
    const secured = new TallyServer({ projectDir: project, engine, log: () => {}, auth: Authenticator.fromConfig(authSchema.parse({ api_keys: [{ name: 'executive', hash }] })) });
    const securedUrl = await secured.listen(0, '127.0.0.1');
    const securedPage = await context.newPage();
    try {
      const refused = await fetch(securedUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ catalog { version } }' }) });
      expect(refused.status).toBe(401);
      const prompts: string[] = [];
      securedPage.on('dialog', (dialog) => {
        prompts.push(dialog.message());
        void dialog.accept(key);
      });
      await securedPage.goto(securedUrl.replace(/graphql$/, ''));
      await securedPage.waitForSelector('#metric-list tbody tr');
      const { catalog } = await gql<{ catalog: { metrics: { name: string }[] } }>('{ catalog { metrics { name } } }');
      const listed = await securedPage.$$eval('#metric-list tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.metric));
      expect(listed.sort()).toEqual(catalog.metrics.map((m) => m.name).sort());
      await securedPage.goto(`${securedUrl.replace(/graphql$/, '')}#/metric/revenue`);
      await securedPage.waitForFunction(() => document.getElementById('series')?.dataset.state === 'ready');
      expect(prompts).toHaveLength(1);
      expect(prompts[0]).toContain('API key or a bearer token');
    } finally {
      await securedPage.close();
      await secured.close();
    }
  });

  it('an unknown metric is reported, and the page logged no errors', async () => {
    await page.goto(`${home}#/metric/nope`);
    expect(await page.textContent('.banner.error')).toContain("There is no metric 'nope'");
    expect(pageErrors).toEqual([]);
  });
});
