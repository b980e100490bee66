/**
 * A server answers from the rollup store's current builds and knows what is stale:
 * - a build by another process (its file renamed into place) is answered from on the next
 *   request, and a build by the server's own scheduler (a store in the engine, no file to look
 *   at) as soon as the scheduler says so, with the clock standing still (no timer re-reads them);
 * - the scheduler's background checks (freshness, partition fingerprints) make edited and newer
 *   rows' ranges read the base tables, with the reason in the GraphQL audit record, until a
 *   refresh; then the rollup serves again. Answers are compared with hand-written SQL.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TallyServer } from '../../src/api/server.js';
import { DuckDBEngine } from '../../src/engines/duckdb.js';
import { loadProject } from '../../src/project.js';
import { buildRollups } from '../../src/rollups/build.js';
import { RollupScheduler } from '../../src/rollups/schedule.js';
import { openServedRollupStore, type ServedRollupStore } from '../../src/rollups/source.js';
import { openRollupStore } from '../../src/rollups/store.js';
import { SourceChecks, verifyFingerprints, writeChecks } from '../../src/rollups/verify.js';
import { sqlRows } from '../helpers/fixture-db.js';
import { MODELS, ROLLUPS, TABLE } from './readings-fixture.js';

const dirs: string[] = [];
const closing: (() => Promise<unknown>)[] = [];

beforeEach(() => {
  // The clock stands still: whatever the server sees, it sees because it was told or looked, not because seconds passed.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2026-03-01T12:00:00Z'));
});
afterEach(async () => {
  vi.useRealTimers();
  for (const close of closing.splice(0).reverse()) await close();
});
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** A project directory with the readings models and rollup, and tally.yml when given. */
async function projectDir(tallyYml?: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tally-rollup-served-'));
  dirs.push(dir);
  mkdirSync(path.join(dir, 'metrics'));
  writeFileSync(path.join(dir, 'metrics', 'models.yml'), MODELS);
  writeFileSync(path.join(dir, 'metrics', 'rollups.yml'), ROLLUPS);
  if (tallyYml) writeFileSync(path.join(dir, 'tally.yml'), tallyYml);
  return dir;
}

async function readings(): Promise<DuckDBEngine> {
  const engine = await DuckDBEngine.open({ path: ':memory:' });
  await engine.query(TABLE);
  closing.push(() => engine.close());
  return engine;
}

async function serve(dir: string, engine: DuckDBEngine, store: ServedRollupStore, cached = false): Promise<string> {
  const server = new TallyServer({ projectDir: dir, engine, rollupStore: store, cache: cached ? { ttlMs: 600_000, maxEntries: 100 } : false, log: () => undefined });
  closing.push(() => server.close());
  return server.listen(0, '127.0.0.1');
}

interface Answer {
  rows: Record<string, unknown>[];
  warnings: string[];
  rollup: { served: boolean; reason: string | null; rollups: { name: string; builtAt: string }[] } | null;
}

/** amount_total and readings by month and site over [from, to's month]. */
async function ask(url: string, from: string, to: string): Promise<Answer> {
  const query = `{ query(metrics: ["amount_total", "readings"], groupBy: ["metric_time.month", "reading.site"], from: "${from}", to: "${to}") { rows warnings rollup { served reason rollups { name builtAt } } } }`;
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  const body = (await response.json()) as { data?: { query: Answer }; errors?: unknown[] };
  expect(body.errors).toBeUndefined();
  return body.data!.query;
}

/** The same by hand, as GraphQL writes it (months as dates, exact numbers as text). */
async function hand(engine: DuckDBEngine, from: string, to: string): Promise<string[]> {
  const rows = await sqlRows(
    engine,
    `SELECT strftime(date_trunc('month', read_at), '%Y-%m-%d') AS m, site, CAST(SUM(amount) AS VARCHAR) AS amount_total, COUNT(id) AS readings
       FROM readings WHERE read_at >= TIMESTAMP '${from}' AND read_at < TIMESTAMP '${to}' GROUP BY 1, 2`,
  );
  return rows.map((r) => JSON.stringify([r.m, r.site, r.amount_total, String(r.readings)])).sort();
}

function text(answer: Answer): string[] {
  return answer.rows.map((r) => JSON.stringify([String(r['metric_time.month']).slice(0, 10), r['reading.site'], r.amount_total === null ? null : String(r.amount_total), String(r.readings)])).sort();
}

describe('a server sees builds at once', () => {
  it('a build by another process (the store file replaced) is answered from on the next request', async () => {
    const dir = await projectDir();
    const engine = await readings();
    const store = await openServedRollupStore(dir, engine);
    closing.push(() => store.close());
    const url = await serve(dir, engine, store);
    expect((await ask(url, '2025-01-01', '2025-04-01')).rollup).toBeNull();

    const [first] = await buildRollups(loadProject(dir), engine, { now: () => new Date('2026-03-01T12:00:01Z') });
    const answer = await ask(url, '2025-01-01', '2025-04-01');
    expect(answer.rollup?.rollups).toEqual([{ name: 'by_site', builtAt: first.builtAt }]);
    expect(text(answer)).toEqual(await hand(engine, '2025-01-01', '2025-05-01'));

    const [second] = await buildRollups(loadProject(dir), engine, { full: true, now: () => new Date('2026-03-01T12:00:02Z') });
    expect((await ask(url, '2025-01-01', '2025-04-01')).rollup?.rollups).toEqual([{ name: 'by_site', builtAt: second.builtAt }]);
  });

  it("a build by the server's own scheduler into a store in the engine is answered from once the scheduler says so", async () => {
    const dir = await projectDir('rollups:\n  store: engine\n  schema: tally_rollups\n');
    const engine = await readings();
    const served = await openServedRollupStore(dir, engine);
    const url = await serve(dir, engine, served);
    const buildStore = await openRollupStore({ store: 'engine', schema: 'tally_rollups' }, engine);
    expect((await ask(url, '2025-01-01', '2025-04-01')).rollup).toBeNull();

    // Built without telling the server: its records are not read again while the clock stands still.
    await buildRollups(loadProject(dir), engine, { store: buildStore, now: () => new Date('2026-03-01T12:00:01Z') });
    expect((await ask(url, '2025-01-01', '2025-04-01')).rollup).toBeNull();

    const scheduler = new RollupScheduler({ project: () => loadProject(dir), engine, store: buildStore, onBuilt: () => served.changed() });
    const records = await scheduler.refreshNow(undefined, 'test');
    const answer = await ask(url, '2025-01-01', '2025-04-01');
    expect(answer.rollup?.rollups).toEqual([{ name: 'by_site', builtAt: records?.[0].builtAt }]);
    expect(text(answer)).toEqual(await hand(engine, '2025-01-01', '2025-05-01'));
  });
});

describe("a server's background checks", () => {
  it('with the answer and response caches on, an identical request is not answered from a response kept before a range was found stale', async () => {
    const dir = await projectDir('rollups:\n  store: engine\n  schema: tally_rollups\n');
    const engine = await readings();
    const checks = new SourceChecks();
    const served = await openServedRollupStore(dir, engine, checks);
    const url = await serve(dir, engine, served, true);
    const buildStore = await openRollupStore({ store: 'engine', schema: 'tally_rollups' }, engine);
    const scheduler = new RollupScheduler({ project: () => loadProject(dir), engine, store: buildStore, checks, records: () => served.list(), onBuilt: () => served.changed() });
    await scheduler.refreshNow(undefined, 'test');
    await scheduler.observe();
    expect((await ask(url, '2025-01-01', '2025-04-01')).rollup?.served).toBe(true);
    expect((await ask(url, '2025-01-01', '2025-04-01')).rollup?.served).toBe(true);

    await engine.query('UPDATE readings SET amount = 5.55 WHERE id = 5');
    await scheduler.verify();
    const after = await ask(url, '2025-01-01', '2025-04-01');
    expect(after.rollup?.served).toBe(false);
    expect(text(after)).toEqual(await hand(engine, '2025-01-01', '2025-05-01'));
  });

  it('sees checks another process keeps in the checks file (tally rollup status --verify) on the next request', async () => {
    const dir = await projectDir();
    const engine = await readings();
    const file = path.join(dir, '.tally', 'rollups.duckdb.checks.json');
    const checks = new SourceChecks(file);
    const [built] = await buildRollups(loadProject(dir), engine, { now: () => new Date('2026-03-01T12:00:01Z') });
    const served = await openServedRollupStore(dir, engine, checks);
    closing.push(() => served.close());
    const url = await serve(dir, engine, served);
    expect((await ask(url, '2025-01-01', '2025-04-01')).rollup?.served).toBe(true);

    await engine.query("INSERT INTO readings VALUES (13, '2025-03-03 08:00:00', 'c', 1, 1.00)");
    const project = loadProject(dir);
    writeChecks(file, { by_site: { fingerprints: await verifyFingerprints(project.graph, engine, project.graph.rollups.get('by_site')!, built) } });
    const answer = await ask(url, '2025-01-01', '2025-04-01');
    expect(answer.rollup?.served).toBe(false);
    expect(answer.rollup?.reason).toContain('its rows from 2025-03-01 to 2025-04-01 are stale');
    expect(text(answer)).toEqual(await hand(engine, '2025-01-01', '2025-05-01'));
  });

  it('edited old rows and newer rows read the base tables until the scheduler refreshes, then the rollup serves again', async () => {
    const dir = await projectDir('rollups:\n  store: engine\n  schema: tally_rollups\n');
    const engine = await readings();
    const checks = new SourceChecks();
    const served = await openServedRollupStore(dir, engine, checks);
    const url = await serve(dir, engine, served);
    const buildStore = await openRollupStore({ store: 'engine', schema: 'tally_rollups' }, engine);
    const scheduler = new RollupScheduler({ project: () => loadProject(dir), engine, store: buildStore, checks, records: () => served.list(), onBuilt: () => served.changed() });
    await scheduler.refreshNow(undefined, 'test');
    expect((await ask(url, '2025-01-01', '2025-04-01')).rollup?.served).toBe(true);

    // An old row edited: freshness does not move; the verification finds its partition.
    await engine.query('UPDATE readings SET amount = 5.55 WHERE id = 5');
    expect((await scheduler.observe()).map((c) => c.stale)).toEqual([[]]);
    expect((await ask(url, '2025-01-01', '2025-04-01')).rollup?.served).toBe(true);
    const [verified] = await scheduler.verify();
    expect(verified.stale.map((s) => [s.start, s.end])).toEqual([['2025-02-01', '2025-03-01']]);
    const edited = await ask(url, '2025-01-01', '2025-04-01');
    expect(edited.rollup?.served).toBe(false);
    expect(edited.rollup?.reason).toContain('by_site: its rows from 2025-02-01 to 2025-03-01 are stale (the source rows of partition 2025-02-01 changed');
    expect(text(edited)).toEqual(await hand(engine, '2025-01-01', '2025-05-01'));
    // Ranges the edit does not reach are still served, and the audit record says when the build was last checked.
    expect((await ask(url, '2025-03-01', '2025-04-01')).rollup?.served).toBe(true);
    const audit = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ query(metrics: ["readings"], groupBy: ["metric_time.month"], from: "2025-03-01", to: "2025-04-01") { warnings rollup { served rollups { freshnessCheckedAt verifiedAt warnings } } } }' }) });
    const auditBody = (await audit.json()) as { data: unknown };
    expect(auditBody.data).toEqual({ query: { warnings: [], rollup: { served: true, rollups: [{ freshnessCheckedAt: '2026-03-01T12:00:00.000Z', verifiedAt: verified.checkedAt, warnings: [] }] } } });

    // A row newer than the build: the freshness check (every minute in a server) finds it.
    await engine.query("INSERT INTO readings VALUES (12, '2025-04-21 08:00:00', 'a', 1, 1.00)");
    const [observed] = await scheduler.observe();
    expect(observed.stale).toEqual([{ start: '2025-04-01', reason: "the newest 'readings' row moved from 2025-04-15 00:00:00 to 2025-04-21 08:00:00 since the build" }]);
    const april = await ask(url, '2025-04-01', '2025-04-01');
    expect(april.rollup?.served).toBe(false);
    expect(text(april)).toEqual(await hand(engine, '2025-04-01', '2025-05-01'));
    expect((await ask(url, '2025-03-01', '2025-03-01')).rollup?.served).toBe(true);

    // The refresh rebuilds the changed and trailing partitions; the server answers from it at once.
    const records = await scheduler.refreshNow(undefined, 'test');
    const again = await ask(url, '2025-01-01', '2025-04-01');
    expect(again.rollup?.rollups).toEqual([{ name: 'by_site', builtAt: records?.[0].builtAt }]);
    expect(text(again)).toEqual(await hand(engine, '2025-01-01', '2025-05-01'));
    expect((await scheduler.verify())[0].stale).toEqual([]);
  });
});
