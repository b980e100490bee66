/**
 * The demo's experiments end to end: checkout_v2 has a planted effect (treatment users order
 * 12% more often, src/seed/demo.ts) that the readout finds with an interval and a ship decision;
 * search_ranking_v1 has none; onboarding_tips_v1 lost a fifth of its treatment assignments and is
 * flagged as a sample-ratio mismatch. The CLI (table, JSON, Markdown) and GraphQL give the same
 * numbers as the library, and so does the experiment page in headless Chromium (Debian's).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TallyServer } from '../../src/api/server.js';
import { readExperiment, type Readout } from '../../src/experiments/readout.js';
import { DuckDBEngine, loadProject, type Project } from '../../src/index.js';
import { seedDemoDatabase } from '../../src/seed/demo.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tally-experiments-'));
const db = join(dir, 'demo.duckdb');
let engine: DuckDBEngine;
let project: Project;
const readouts = new Map<string, Readout>();

beforeAll(async () => {
  await seedDemoDatabase(db, { events: 400_000 });
  engine = await DuckDBEngine.open({ path: db, readOnly: true });
  project = loadProject('.');
  for (const name of ['checkout_v2', 'search_ranking_v1', 'onboarding_tips_v1']) readouts.set(name, await readExperiment(project, engine, name));
}, 180_000);

afterAll(async () => {
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

const primary = (r: Readout | undefined) => r?.metrics.find((m) => m.role === 'primary');

describe('demo experiments', () => {
  it('checkout_v2: the planted effect on orders per user, with an interval above zero, and a ship decision', () => {
    const r = readouts.get('checkout_v2');
    const orders = primary(r);
    expect(orders?.metric).toBe('orders');
    // The generator multiplies treatment users' ordering rate by 1.12.
    expect(orders?.relative?.ci[0]).toBeGreaterThan(0);
    expect(orders?.relative?.ci[0]).toBeLessThan(0.12);
    expect(orders?.relative?.ci[1]).toBeGreaterThan(0.12);
    expect(r?.srm.mismatch).toBe(false);
    expect(r?.decision.verdict).toBe('ship');
    expect(r?.decision.reason).toMatch(/orders/);
  });

  it('search_ranking_v1: no effect; the interval holds zero and it does not ship', () => {
    const r = readouts.get('search_ranking_v1');
    const ctr = primary(r);
    expect(ctr?.kind).toBe('ratio');
    expect(ctr?.relative?.ci[0]).toBeLessThan(0);
    expect(ctr?.relative?.ci[1]).toBeGreaterThan(0);
    expect(r?.srm.mismatch).toBe(false);
    expect(r?.decision.verdict).toBe('dont_ship');
    // CUPED on the guardrail (pre_period in metrics/experiments.yml).
    expect(r?.metrics.find((m) => m.metric === 'searches')?.cuped).toBeDefined();
  });

  it('onboarding_tips_v1: the sample-ratio mismatch is flagged and the readout is invalid', () => {
    const r = readouts.get('onboarding_tips_v1');
    expect(r?.srm.mismatch).toBe(true);
    expect(r?.srm.pValue).toBeLessThan(0.001);
    expect(r?.decision.verdict).toBe('invalid');
    expect(r?.decision.reason).toMatch(/sample-ratio mismatch/);
  });

  it('the CLI reports the same numbers and decisions', async () => {
    const cli = (args: string[]) => run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { maxBuffer: 16 * 1024 * 1024 });
    const json = JSON.parse((await cli(['experiment', 'readout', 'checkout_v2', '--db', db, '--format', 'json'])).stdout) as Readout;
    expect(json.metrics[0].relative?.estimate).toBe(primary(readouts.get('checkout_v2'))?.relative?.estimate);
    expect(json.decision.verdict).toBe('ship');
    const table = (await cli(['experiment', 'readout', 'onboarding_tips_v1', '--db', db])).stdout;
    expect(table).toMatch(/^Experiment onboarding_tips_v1: INVALID/);
    expect(table).toMatch(/MISMATCH/);
    const markdown = (await cli(['experiment', 'readout', 'search_ranking_v1', '--db', db, '--format', 'markdown'])).stdout;
    expect(markdown).toMatch(/^# Experiment search_ranking_v1: DON'T SHIP/);
    expect(markdown).toMatch(/\| search_ctr \| primary \|/);
    const list = (await cli(['experiment', 'list'])).stdout;
    expect(list.split('\n').filter(Boolean).map((l) => l.split(' ')[0])).toEqual(['checkout_v2', 'search_ranking_v1', 'onboarding_tips_v1']);
    await expect(cli(['experiment', 'readout', 'checkout_v3', '--db', db])).rejects.toMatchObject({ stderr: expect.stringMatching(/unknown experiment 'checkout_v3'/) });
  }, 120_000);

  it('GraphQL gives the same readout', async () => {
    const server = new TallyServer({ projectDir: '.', engine, log: () => {} });
    const url = await server.listen(0, '127.0.0.1');
    try {
      const query = `{ experiments { name variants primaryMetrics criteria { alpha minimumEffect } }
        experiment(name: "checkout_v2") { variants { variant units } srm { pValue mismatch } decision { verdict reason }
          metrics { metric role variant relative { estimate ciLow ciHigh pValue } adjustedPValue } sql version } }`;
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
      const body = (await res.json()) as { data?: { experiments: { name: string }[]; experiment: { decision: { verdict: string }; metrics: { metric: string; relative: { estimate: number; ciLow: number; ciHigh: number } }[]; variants: { units: number }[]; sql: string } }; errors?: unknown };
      expect(body.errors).toBeUndefined();
      expect(body.data?.experiments.map((e) => e.name)).toEqual(['checkout_v2', 'search_ranking_v1', 'onboarding_tips_v1']);
      const lib = readouts.get('checkout_v2');
      expect(body.data?.experiment.decision.verdict).toBe(lib?.decision.verdict);
      expect(body.data?.experiment.metrics[0].relative).toEqual({ estimate: primary(lib)?.relative?.estimate, ciLow: primary(lib)?.relative?.ci[0], ciHigh: primary(lib)?.relative?.ci[1], pValue: primary(lib)?.relative?.pValue });
      expect(body.data?.experiment.variants.map((v) => v.units)).toEqual(lib?.variants.map((v) => v.units));
      expect(body.data?.experiment.sql).toBe(lib?.sql);
    } finally {
      await server.close();
    }
  });

  it('the experiment page shows the decision, the lift plot and the cumulative effect with the API numbers (headless Chromium)', async () => {
    const CHROMIUM = '/usr/bin/chromium';
    if (!existsSync(CHROMIUM)) throw new Error(`this test needs Debian's Chromium at ${CHROMIUM} (apt-get install -y chromium; .ci/run does)`);
    const server = new TallyServer({ projectDir: '.', engine, log: () => {} });
    const url = await server.listen(0, '127.0.0.1');
    const home = url.replace(/graphql$/, '');
    const context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 1400 },
    });
    const errors: string[] = [];
    try {
      const page = await context.newPage();
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${home}experiment.html#/`);
      await page.waitForSelector('[data-testid=experiment-list] li');
      expect(await page.$$eval('[data-testid=experiment-list] li a', (as) => as.map((a) => a.textContent))).toEqual(['checkout_v2', 'search_ranking_v1', 'onboarding_tips_v1']);
      for (const name of ['checkout_v2', 'onboarding_tips_v1']) {
        await page.goto(`${home}experiment.html#/${name}`);
        await page.waitForFunction(() => document.getElementById('app')?.dataset.ready === 'true', undefined, { timeout: 60_000 });
        const lib = readouts.get(name);
        const decision = (await page.textContent('[data-testid=decision]')) ?? '';
        expect(decision).toContain(lib?.decision.reason ?? 'missing');
        const cells = await page.$$eval('[data-testid=metrics] tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
        const orders = lib?.metrics[0];
        const pct = (x: number | undefined): string => (x === undefined ? '–' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}%`);
        expect(cells[0][5]).toBe(pct(orders?.relative?.estimate));
        expect(cells[0][6]).toBe(`[${pct(orders?.relative?.ci[0])}, ${pct(orders?.relative?.ci[1])}]`);
        expect(await page.$$eval('[data-testid=variants] tbody tr td:nth-child(2)', (tds) => tds.map((td) => Number(td.textContent)))).toEqual(lib?.variants.map((v) => v.units));
        // Both charts drew something (Chart.js sets the canvas size when it renders).
        for (const id of ['lift-plot', 'timeline-plot']) expect(await page.$eval(`[data-testid=${id}]`, (c) => (c as HTMLCanvasElement).width)).toBeGreaterThan(0);
        if (name === 'onboarding_tips_v1') expect(await page.textContent('[data-testid=srm]')).toContain('MISMATCH');
        mkdirSync('test-artifacts', { recursive: true });
        await page.screenshot({ path: join('test-artifacts', `experiment-${name}.png`), fullPage: true });
      }
      expect(errors).toEqual([]);
    } finally {
      await context.close();
      await server.close();
    }
  }, 120_000);
});
