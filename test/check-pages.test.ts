/**
 * Data health in the catalog, in headless Chromium (Debian's): over the planted-fault fixture with
 * a stored check run, a metric's page shows the failed checks on its data and "data as of" from the
 * API, and marks the incomplete trailing month on the chart; the data-health page lists every
 * model's checks with their last status and history, equal to the state store. Screenshots go to
 * test-artifacts/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TallyServer } from '../src/api/server.js';
import { runChecks } from '../src/checks/runner.js';
import { DuckDBStateStore } from '../src/checks/state.js';
import { DuckDBEngine, loadProject } from '../src/index.js';
import { checksFixtureSql, NOW, writeChecksProject } from './helpers/checks-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const dir = mkdtempSync(join(tmpdir(), 'tally-health-page-'));
const db = join(dir, 'faulty.duckdb');
const statePath = join(dir, '.tally', 'state.duckdb');
let engine: DuckDBEngine;
let server: TallyServer;
let home: string;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`this test needs Debian's Chromium at ${CHROMIUM}; install it with: apt-get install -y chromium (.ci/run does)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  writeChecksProject(dir);
  const instance = await DuckDBInstance.create(db);
  const c = await instance.connect();
  await c.run(checksFixtureSql(true));
  c.closeSync();
  instance.closeSync();
  engine = await DuckDBEngine.open({ path: db, readOnly: true });
  await new DuckDBStateStore(statePath).saveRun(await runChecks(loadProject(dir).graph, engine, { now: NOW }));
  server = new TallyServer({ projectDir: dir, engine, log: () => {}, stateStore: new DuckDBStateStore(statePath) });
  home = (await server.listen(0, '127.0.0.1')).replace(/graphql$/, '');
  context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
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

describe('data health in the catalog', () => {
  it("a metric's page: failed checks on its data, data as of, the incomplete month dashed on the chart", async () => {
    await page.goto(`${home}#/metric/revenue?grain=month`);
    await page.waitForFunction(() => document.getElementById('series')?.dataset.state === 'ready');
    const warnings = await page.locator('.health-warning').allTextContents();
    expect(warnings.some((w) => w.startsWith('check orders.relationship(user->users) on input model \'orders\' failed at the last run'))).toBe(true);
    expect(warnings).toContain("the month 2026-03-01 is incomplete: 'orders' has data only up to 2026-03-01 00:00:00 UTC");
    expect(await page.locator('#series-chart').getAttribute('data-incomplete')).toBe('["2026-03-01"]');
    const line = await page.locator('#data-health').textContent();
    const [latest] = (await engine.query('SELECT CAST(max(ordered_at) AS VARCHAR) FROM orders')).rows;
    expect(line).toContain(`Data as of: orders ${latest[0]} UTC.`);
    const stored = (await new DuckDBStateStore(statePath).lastResults()).filter((r) => r.model === 'orders' && r.status !== 'pass');
    expect(line).toContain(`${stored.length} checks on its data not passing`);
    await page.screenshot({ path: join(ARTIFACTS, 'metric-health.png'), fullPage: true });
  });

  it('the data-health page: every check with its last status and history, as stored', async () => {
    await page.goto(`${home}health`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true');
    const shown = await page.locator('tr[data-check]').evaluateAll((rows) => rows.map((r) => [(r as HTMLElement).dataset.check, (r as HTMLElement).dataset.status, r.querySelectorAll('.history span').length]));
    const stored = await new DuckDBStateStore(statePath).lastResults();
    expect(shown.length).toBe(stored.length);
    for (const r of stored) expect(shown).toContainEqual([r.id, r.status, 1]);
    expect(await page.locator('#model-shipments .freshness').textContent()).toBe('data as of 2026-01-08 11:00:00 UTC (shipped_at)');
    await page.screenshot({ path: join(ARTIFACTS, 'data-health.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
