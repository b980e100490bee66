/**
 * The metric catalog page end to end in headless Chromium (Debian's, never a downloaded build):
 * a real TallyServer over a small seeded DuckDB on loopback. The numbers the page shows must
 * equal the GraphQL API's answer for the same request and hand-written SQL. Screenshots go to
 * test-artifacts/ for a person to look at.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authSchema } from '../src/access/auth-config.js';
import { Authenticator, createApiKey } from '../src/access/authenticate.js';
import { TallyServer } from '../src/api/server.js';
import { DuckDBEngine } from '../src/index.js';
import { seedDemoDatabase } from '../src/seed/demo.js';
import { displayValue } from '../src/output.js';
import { toCsv } from '../src/web/public/format.js';

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
    `query ($metrics: [String!]!, $groupBy: [String!], $where: String, $orderBy: [String!], $from: String, $to: String, $limit: Int, $fillGaps: Boolean) {
      query(metrics: $metrics, groupBy: $groupBy, where: $where, orderBy: $orderBy, from: $from, to: $to, limit: $limit, fillGaps: $fillGaps) { rows sql version warnings }
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

/**
 * The line drawn between two periods never leaves the range of their two values: every Bézier
 * control point Chart.js computed lies between the segment's ends (straight lines have none off it).
 */
async function expectNoOvershoot(canvas: string): Promise<void> {
  const segments = await page.$eval(canvas, (el) => {
    const chart = (window as unknown as { Chart: { getChart(c: Element): { getDatasetMeta(i: number): { data: Record<string, number>[] } } } }).Chart.getChart(el);
    const points = chart.getDatasetMeta(0).data;
    return points.slice(1).map((p, i) => ({ a: points[i].y, b: p.y, c1: points[i].cp2y ?? points[i].y, c2: p.cp1y ?? p.y }));
  });
  expect(segments.length).toBeGreaterThan(1);
  for (const s of segments) {
    const [lo, hi] = [Math.min(s.a, s.b) - 0.01, Math.max(s.a, s.b) + 0.01];
    expect(s.c1).toBeGreaterThanOrEqual(lo);
    expect(s.c1).toBeLessThanOrEqual(hi);
    expect(s.c2).toBeGreaterThanOrEqual(lo);
    expect(s.c2).toBeLessThanOrEqual(hi);
  }
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

    // A small typo still finds the metric.
    await page.fill('#search', 'revnue');
    const forgiven = await page.$$eval('#metric-list tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.metric));
    expect(forgiven).toEqual(expect.arrayContaining(['revenue', 'revenue_mtd', 'revenue_growth_mom']));
    expect(forgiven).not.toContain('dau');
  });

  it('a metric page shows the API’s numbers over time and by a dimension, with formula, lineage, SQL and version', async () => {
    await page.click('#metric-list tr[data-metric="revenue"] a');
    await page.waitForURL(/#\/metric\/revenue/);
    const series = await shown('series', 'series-table');
    expect(series.request).toMatchObject({ metrics: ['revenue'], groupBy: ['metric_time.month'] });
    const api = await apiAnswer(series.request);
    expect(series.pairs).toEqual(pairsOf(api.rows, 'metric_time.month', 'revenue'));
    expect(series.pairs.length).toBe(24);
    // What a person reads is the exact number in revenue's display format (USD), as the CLI's table shows it.
    expect(series.texts).toEqual(series.pairs.map(([, v]) => displayValue(v, { kind: 'currency', currency: 'USD' })));
    expect(series.texts[0]).toMatch(/^\$\d{1,3}(,\d{3})*\.\d{2}$/);

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
    await expectNoOvershoot('#series-chart');
    // Periods read as people write them, under the chart and in the table.
    expect(await page.textContent('#series-table tbody tr:first-child td:first-child')).toBe('Jan 2024');
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

/** Hand-written SQL's rows as strings keyed by the API's column names (null as ''). */
async function handRows(sql: string, names: string[]): Promise<Record<string, string>[]> {
  const result = await engine.query(sql);
  return result.rows.map((r) => Object.fromEntries(names.map((n, i) => [n, r[i] === null ? '' : String(r[i])])));
}

/** What the explore page's table shows: each row's raw values by column. */
async function exploreTable(): Promise<{ request: Record<string, unknown>; rows: Record<string, string>[] }> {
  await page.waitForFunction(() => ['ready', 'error'].includes(document.getElementById('explore-result')?.dataset.state ?? ''));
  if ((await page.getAttribute('#explore-result', 'data-state')) === 'error') throw new Error(`the explore page shows an error: ${await page.textContent('#explore-result')}`);
  const request = JSON.parse((await page.getAttribute('#explore-result', 'data-request'))!) as Record<string, unknown>;
  const rows = await page.$$eval('#explore-table tbody tr', (trs) =>
    trs.map((tr) => Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [(td as HTMLElement).dataset.column!, (td as HTMLElement).dataset.value!]))),
  );
  return { request, rows };
}

/** Waits until the explore page has answered a request matching `expected`. */
async function exploreAnswer(expected: Record<string, unknown>): Promise<{ request: Record<string, unknown>; rows: Record<string, string>[] }> {
  for (let i = 0; i < 100; i++) {
    const answer = await exploreTable();
    if (Object.entries(expected).every(([k, v]) => JSON.stringify(answer.request[k]) === JSON.stringify(v))) return answer;
    await page.waitForTimeout(100);
  }
  throw new Error(`the explore page never asked for ${JSON.stringify(expected)}`);
}

describe('explore page', () => {
  // Revenue and orders of 'pro' users by quarter and country in 2025, written by hand.
  const HAND = `
    SELECT strftime(date_trunc('quarter', o.ordered_at), '%Y-%m-%d'), u.country,
           -- A sum is 0, not null, for a group that is in the answer without rows of its own (DESIGN: empty values).
           COALESCE(SUM(o.amount) FILTER (WHERE o.status IN ('paid', 'shipped')), 0), COUNT(o.order_id)
    FROM orders o JOIN users u USING (user_id)
    WHERE u.plan = 'pro' AND o.ordered_at >= TIMESTAMP '2025-01-01' AND o.ordered_at < TIMESTAMP '2026-01-01'
    GROUP BY 1, 2 ORDER BY 1, 2`;
  const COLUMNS = ['metric_time.quarter', 'user.country', 'revenue', 'orders'];

  it('picks metrics, a group-by, a grain, a range and a filter; its numbers are hand-written SQL’s', async () => {
    await page.goto(`${home}#/explore`);
    await exploreAnswer({ metrics: ['revenue'], groupBy: ['metric_time.month'] });
    await page.check('#explore-metrics input[value="orders"]');
    await exploreAnswer({ metrics: ['revenue', 'orders'] });
    await page.check('#explore-by input[value="user.country"]');
    await page.selectOption('#explore-grain', 'quarter');
    await page.fill('#explore-from', '2025-01-01');
    await page.fill('#explore-to', '2025-12-31');
    await page.selectOption('#filter-dimension', 'user.plan');
    await page.selectOption('#filter-operator', '=');
    await page.fill('#filter-value', 'pro');
    await page.click('#filter-add');
    const shownAnswer = await exploreAnswer({
      metrics: ['revenue', 'orders'],
      groupBy: ['metric_time.quarter', 'user.country'],
      where: "user.plan = 'pro'",
      from: '2025-01-01',
      to: '2025-12-31',
    });
    const expected = await handRows(HAND, COLUMNS);
    expect(expected.length).toBeGreaterThan(8);
    expect(shownAnswer.rows).toEqual(expected);
    // The API gives the page's numbers to any client that asks the same.
    const api = await apiAnswer(shownAnswer.request);
    expect(api.rows.map((r) => Object.fromEntries(COLUMNS.map((c) => [c, r[c] === null ? '' : String(r[c])])))).toEqual(expected);
    expect(await page.textContent('#explore-table tbody tr:first-child td[data-column="metric_time.quarter"]')).toBe('Q1 2025');
    await expectNoOvershoot('#explore-chart');
    await screenshot('explore-line');
    await page.selectOption('#explore-chart-type', 'bar');
    await page.waitForFunction(() => (window as unknown as { Chart: { getChart(c: Element | null): { config: { type: string } } | undefined } }).Chart.getChart(document.getElementById('explore-chart'))?.config.type === 'bar');
    await screenshot('explore-bar');
  });

  it('the address is the view: reopening it asks the same and shows the same; CSV holds exactly those numbers', async () => {
    const url = page.url();
    expect(decodeURIComponent(url.replace(/\+/g, ' '))).toContain("#/explore?metrics=revenue,orders&by=user.country&grain=quarter&from=2025-01-01&to=2025-12-31&where=user.plan = 'pro'&chart=bar");
    expect(await page.inputValue('#share-url')).toBe(url);
    const other = await context.newPage();
    try {
      await other.goto(url);
      await other.waitForFunction(() => document.getElementById('explore-result')?.dataset.state === 'ready');
      expect(await other.getAttribute('#explore-result', 'data-request')).toBe(await page.getAttribute('#explore-result', 'data-request'));
      expect(await other.isChecked('#explore-by input[value="user.country"]')).toBe(true);
      expect(await other.inputValue('#where')).toBe("user.plan = 'pro'");
    } finally {
      await other.close();
    }
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-csv')]);
    expect(download.suggestedFilename()).toBe('tally-explore.csv');
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv).toBe(toCsv(COLUMNS, await handRows(HAND, COLUMNS)));
    await page.selectOption('#explore-chart-type', 'table');
    await page.waitForFunction(() => !document.getElementById('explore-chart') && document.getElementById('explore-result')?.dataset.state === 'ready');
    await screenshot('explore-table');
  });

  it('a metric without a time axis is one number per group; a bad filter shows the API’s message', async () => {
    await page.goto(`${home}#/explore?metrics=orders&by=user.plan&grain=none&chart=bar`);
    const answer = await exploreAnswer({ metrics: ['orders'], groupBy: ['user.plan'] });
    expect(answer.rows).toEqual(await handRows(`SELECT u.plan, COUNT(o.order_id) AS n FROM orders o JOIN users u USING (user_id) GROUP BY 1 ORDER BY n DESC, 1`, ['user.plan', 'orders']));
    await page.fill('#where', 'user.country = KR');
    await page.press('#where', 'Enter');
    await page.waitForFunction(() => document.getElementById('explore-result')?.dataset.state === 'error');
    const message = await page.textContent('#explore-result .banner.error');
    expect(message).toContain('KR');
    expect(message).not.toMatch(/duckdb|Binder|Parser Error/i);
    await screenshot('explore-error');
  });
});

describe('dashboard pages', () => {
  interface TileShown {
    metric: string;
    current: string;
    compared: string;
    change: string;
    currentPeriod: string;
    comparedPeriod: string;
  }

  async function tiles(): Promise<TileShown[]> {
    await page.waitForFunction(() => {
      const all = [...document.querySelectorAll('#tiles .tile')] as HTMLElement[];
      return all.length > 0 && all.every((t) => ['ready', 'error'].includes(t.dataset.state ?? ''));
    });
    const shownTiles = await page.$$eval('#tiles .tile', (all) => all.map((t) => ({ ...(t as HTMLElement).dataset })));
    for (const t of shownTiles) if (t.state !== 'ready') throw new Error(`tile ${t.metric} shows an error`);
    return shownTiles as unknown as TileShown[];
  }

  /** One number from hand-written SQL, as the API prints it. */
  async function one(sql: string): Promise<string> {
    const r = await engine.query(sql);
    return r.rows[0][0] === null ? '' : String(r.rows[0][0]);
  }

  const revenueIn = (from: string, to: string) => one(`SELECT SUM(amount) FROM orders WHERE status IN ('paid', 'shipped') AND ordered_at >= DATE '${from}' AND ordered_at < DATE '${to}'`);
  const ordersIn = (from: string, to: string) => one(`SELECT COUNT(order_id) FROM orders WHERE ordered_at >= DATE '${from}' AND ordered_at < DATE '${to}'`);
  const dauOn = (day: string) => one(`SELECT COUNT(DISTINCT user_id) FROM events WHERE CAST(occurred_at AS DATE) = DATE '${day}'`);
  /** MAU of a day: distinct users with an event in the 30 days that end on that day. */
  const mauOn = (lastDay: string) => one(`SELECT COUNT(DISTINCT user_id) FROM events WHERE CAST(occurred_at AS DATE) BETWEEN DATE '${lastDay}' - INTERVAL 29 DAY AND DATE '${lastDay}'`);
  const conversionIn = (from: string, to: string) =>
    one(`SELECT CAST(COUNT(DISTINCT c.user_id) AS DOUBLE) / COUNT(DISTINCT u.user_id) FROM users u LEFT JOIN (
           SELECT DISTINCT u.user_id FROM users u JOIN orders o ON o.user_id = u.user_id
           WHERE o.status IN ('paid', 'shipped') AND o.ordered_at >= u.signed_up_at AND o.ordered_at <= u.signed_up_at + INTERVAL 7 DAY
         ) c ON c.user_id = u.user_id WHERE u.signed_up_at >= DATE '${from}' AND u.signed_up_at < DATE '${to}'`);

  it('lists the dashboards defined as code', async () => {
    await page.goto(`${home}#/dashboards`);
    await page.waitForSelector('#dashboard-list li');
    expect(await page.$$eval('#dashboard-list li', (li) => li.map((l) => (l as HTMLElement).dataset.dashboard))).toEqual(['company_key_numbers']);
    await screenshot('dashboards-list');
  });

  it('Company key numbers: each tile’s value and change equal hand-written SQL', async () => {
    await page.click('#dashboard-list a');
    await page.waitForURL(/#\/dashboard\/company_key_numbers/);
    const shownTiles = await tiles();
    expect(shownTiles.map((t) => t.metric)).toEqual(['revenue', 'orders', 'dau', 'mau', 'signup_to_paid_order_7d']);
    const [revenue, orders, dau, mau, conversion] = shownTiles;

    const expectChange = (tile: TileShown) => {
      const change = (Number(tile.current) - Number(tile.compared)) / Math.abs(Number(tile.compared));
      expect(Number(tile.change)).toBeCloseTo(change, 12);
    };
    expect(revenue).toMatchObject({ currentPeriod: '2025-12-01', comparedPeriod: '2025-11-01', current: await revenueIn('2025-12-01', '2026-01-01'), compared: await revenueIn('2025-11-01', '2025-12-01') });
    expectChange(revenue);
    expect(orders).toMatchObject({ currentPeriod: '2025-12-01', comparedPeriod: '2024-12-01', current: await ordersIn('2025-12-01', '2026-01-01'), compared: await ordersIn('2024-12-01', '2025-01-01') });
    expectChange(orders);
    expect(dau).toMatchObject({ currentPeriod: '2025-12-31', comparedPeriod: '2025-12-30', current: await dauOn('2025-12-31'), compared: await dauOn('2025-12-30') });
    expectChange(dau);
    expect(mau).toMatchObject({ currentPeriod: '2025-12-31', comparedPeriod: '2024-12-31', current: await mauOn('2025-12-31'), compared: await mauOn('2024-12-31') });
    expectChange(mau);
    expect(conversion).toMatchObject({ currentPeriod: '2025-12-01', comparedPeriod: '2025-11-01' });
    expect(Number(conversion.current)).toBeCloseTo(Number(await conversionIn('2025-12-01', '2026-01-01')), 12);
    expect(Number(conversion.compared)).toBeCloseTo(Number(await conversionIn('2025-11-01', '2025-12-01')), 12);
    expectChange(conversion);

    // The change a person reads, and the revenue trend and breakdown under it.
    expect(await page.textContent('#tile-0 .tile-change')).toContain('Dec 2025 vs Nov 2025');
    const trend = await page.$$eval('#tile-0 .tile-trend tr', (rows) => rows.map((r) => [(r as HTMLElement).dataset.key, (r as HTMLElement).dataset.value]));
    const monthly = await engine.query(`SELECT strftime(date_trunc('month', ordered_at), '%Y-%m-%d'), SUM(amount) FROM orders WHERE status IN ('paid', 'shipped') AND ordered_at >= DATE '2025-01-01' GROUP BY 1 ORDER BY 1`);
    expect(trend).toEqual(monthly.rows.map((r) => [String(r[0]), String(r[1])]));
    const byCountry = await page.$$eval('#tile-0 .breakdown tr', (rows) => rows.map((r) => [(r as HTMLElement).dataset.key, (r as HTMLElement).dataset.value]));
    const handByCountry = await engine.query(`SELECT u.country, SUM(o.amount) AS r FROM orders o JOIN users u USING (user_id) WHERE o.status IN ('paid', 'shipped') AND o.ordered_at >= DATE '2025-12-01' AND o.ordered_at < DATE '2026-01-01' GROUP BY 1 ORDER BY r DESC, 1 LIMIT 10`);
    expect(byCountry).toEqual(handByCountry.rows.map((r) => [String(r[0]), String(r[1])]));
    await expectNoOvershoot('#tile-0-chart');
    await screenshot('dashboard-company-key-numbers');

    // A tile's question opens in Explore, with the same numbers.
    await page.click('#tile-1 .tile-links a');
    const explored = await exploreAnswer({ metrics: ['orders'], groupBy: ['metric_time.month'], from: '2025-01-01', to: '2025-12-31' });
    expect(explored.rows).toEqual(
      await handRows(`SELECT strftime(date_trunc('month', ordered_at), '%Y-%m-%d'), COUNT(order_id) FROM orders WHERE ordered_at >= DATE '2025-01-01' AND ordered_at < DATE '2026-01-01' GROUP BY 1 ORDER BY 1`, ['metric_time.month', 'orders']),
    );
  });

  it('as_of in the address looks back: the tiles move to that period', async () => {
    await page.goto(`${home}#/dashboard/company_key_numbers?as_of=2025-06-30`);
    const [revenue] = await tiles();
    expect(revenue).toMatchObject({ currentPeriod: '2025-06-01', comparedPeriod: '2025-05-01', current: await revenueIn('2025-06-01', '2025-07-01'), compared: await revenueIn('2025-05-01', '2025-06-01') });
    await page.goto(`${home}#/dashboard/nope`);
    expect(await page.textContent('.banner.error')).toContain("There is no dashboard 'nope'");
  });

  it('behind access rules, a dashboard shows a caller only the tiles and the rows it may see', async () => {
    const secured = join(dir, 'secured');
    cpSync(project, secured, { recursive: true });
    writeFileSync(
      join(secured, 'metrics', 'access.yml'),
      `access:
  roles:
    - name: finance
    - name: kr_analyst
      row_filters:
        - { dimension: user.country, claim: country }
  restricted:
    - metrics: [revenue]
      roles: [finance]
`,
    );
    const { key, hash } = createApiKey();
    const server2 = new TallyServer({ projectDir: secured, engine, log: () => {}, auth: Authenticator.fromConfig(authSchema.parse({ api_keys: [{ name: 'kr', hash, roles: ['kr_analyst'], claims: { country: 'KR' } }] })) });
    const url = (await server2.listen(0, '127.0.0.1')).replace(/graphql$/, '');
    const krPage = await context.newPage();
    try {
      krPage.on('dialog', (dialog) => void dialog.accept(key));
      await krPage.goto(`${url}#/dashboard/company_key_numbers`);
      await krPage.waitForFunction(() => {
        const all = [...document.querySelectorAll('#tiles .tile')] as HTMLElement[];
        return all.length > 0 && all.every((t) => t.dataset.state === 'ready');
      });
      const shownTiles = await krPage.$$eval('#tiles .tile', (all) => all.map((t) => ({ ...(t as HTMLElement).dataset })));
      expect(shownTiles.map((t) => t.metric)).toEqual(['orders', 'dau', 'mau', 'signup_to_paid_order_7d']);
      const krOrders = (from: string, to: string) =>
        one(`SELECT COUNT(o.order_id) FROM orders o JOIN users u USING (user_id) WHERE u.country = 'KR' AND o.ordered_at >= DATE '${from}' AND o.ordered_at < DATE '${to}'`);
      expect(shownTiles[0]).toMatchObject({ current: await krOrders('2025-12-01', '2026-01-01'), compared: await krOrders('2024-12-01', '2025-01-01') });
      expect(Number(shownTiles[0].current)).toBeLessThan(Number((await ordersIn('2025-12-01', '2026-01-01'))));
      // Daily and monthly actives of KR users: a day without their events is 0 DAU, and MAU still counts the 30 days before it.
      const krActive = (first: string, last: string) =>
        one(`SELECT COUNT(DISTINCT e.user_id) FROM events e JOIN users u USING (user_id) WHERE u.country = 'KR' AND CAST(e.occurred_at AS DATE) BETWEEN DATE '${first}' AND DATE '${last}'`);
      expect(shownTiles[1]).toMatchObject({ current: await krActive('2025-12-31', '2025-12-31'), compared: await krActive('2025-12-30', '2025-12-30') });
      expect(shownTiles[2]).toMatchObject({ current: await krActive('2025-12-02', '2025-12-31'), compared: await krActive('2024-12-02', '2024-12-31') });
      await krPage.screenshot({ path: join(ARTIFACTS, 'dashboard-kr-analyst.png'), fullPage: true });
    } finally {
      await krPage.close();
      await server2.close();
    }
    expect(pageErrors).toEqual([]);
  });
});
