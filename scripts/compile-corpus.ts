/**
 * Compiles a large corpus of requests and writes every result (SQL, columns, lineage, warnings,
 * rollup routing, or the error) to a file, so that a change meant to make compiling faster can be
 * checked to leave every output byte-identical:
 *
 *   npx tsx scripts/compile-corpus.ts /tmp/before.txt    # on the old code
 *   npx tsx scripts/compile-corpus.ts /tmp/after.txt     # on the new code
 *   cmp /tmp/before.txt /tmp/after.txt
 *
 * The corpus: every example metric × grains × group-by subsets × filters (none, a where, a metric
 * filter, structured filters, row filters) in every dialect, pairs of metrics, ordering, limits,
 * time zones and gap filling; the same requests routed to the example rollups (built from a small
 * seeded demo database into a memory store); and the generated 200-model project of the bench.
 * `--quick` keeps one dialect besides DuckDB.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generatedGroupBys, generatedProject } from '../bench/generated-project.js';
import { buildCatalog } from '../src/catalog.js';
import { compileRequest, type CompileOptions, type RollupOptions } from '../src/compile.js';
import { DuckDBEngine } from '../src/engines/duckdb.js';
import { loadProject, projectFromSources, type RequestInput } from '../src/index.js';
import type { Expression } from '../src/query/expression.js';
import { parseExpression } from '../src/query/parse-expression.js';
import { buildRollups } from '../src/rollups/build.js';
import { definitionFingerprint } from '../src/rollups/fingerprint.js';
import { openRollupStore } from '../src/rollups/store.js';
import { seedDemoDatabase } from '../src/seed/demo.js';
import { DIALECT_NAMES, type DialectName } from '../src/sql/dialects/index.js';

const out = process.argv[2];
if (!out) throw new Error('usage: npx tsx scripts/compile-corpus.ts OUT_FILE [--quick]');
const quick = process.argv.includes('--quick');
const dialects: DialectName[] = quick ? ['duckdb', 'postgres'] : [...DIALECT_NAMES];
const file = createWriteStream(out);
let count = 0;
let errors = 0;

function record(label: string, compile: () => ReturnType<typeof compileRequest>): void {
  count++;
  let text: string;
  try {
    const c = compile();
    text = [
      c.sql,
      `columns ${JSON.stringify(c.columns)}`,
      `lineage ${JSON.stringify(c.lineage)}`,
      `warnings ${JSON.stringify(c.warnings)}`,
      `dialect ${c.dialect} version ${c.version}`,
      ...(c.rollups ? [`rollups ${JSON.stringify(c.rollups)}`] : []),
    ].join('\n');
  } catch (e) {
    errors++;
    text = `ERROR ${(e as { code?: string }).code ?? ''} ${(e as Error).message}`;
  }
  file.write(`### ${label}\n${text}\n`);
}

const where = (text: string): Expression => parseExpression(text);

async function main(): Promise<void> {
  const project = loadProject('.');
  const graph = project.graph;
  const catalog = buildCatalog(graph);

  const wheres: (string | undefined)[] = [undefined, "user.country IN ('KR', 'JP') AND order.status <> 'cancelled' AND metric_time.day >= '2025-01-01'", "user.plan = 'pro'", 'user.orders > 3', "event.event_type = 'search'"];
  const grains = ['', 'hour', 'day', 'week', 'month', 'quarter', 'year'];
  const optionSets: { label: string; options: CompileOptions }[] = [
    { label: 'plain', options: {} },
    { label: 'filters', options: { filters: [where("user.country = 'KR'")] } },
    { label: 'rowFilters', options: { rowFilters: [where("user.country IN ('KR', 'US')")] } },
  ];

  for (const m of catalog.metrics) {
    const dims = m.dimensions;
    const groupBys: string[][] = [];
    for (const g of grains) {
      const time = g ? [`metric_time.${g}`] : [];
      groupBys.push(time);
      for (const d of dims) groupBys.push([...time, d]);
      if (g === 'day' || g === 'month' || g === '') {
        for (let i = 0; i < dims.length; i++) for (let j = i + 1; j < dims.length; j += 2) groupBys.push([...time, dims[i], dims[j]]);
      }
    }
    groupBys.push(['metric_time.day', 'metric_time.month']);
    for (const d of dims.filter((x) => x.endsWith('_at'))) groupBys.push([`${d}.month`], ['metric_time.week', `${d}.day`]);
    for (const groupBy of groupBys) {
      for (const w of wheres) {
        for (const dialect of groupBy.length <= 1 || w === undefined ? dialects : ['duckdb' as const]) {
          const input: RequestInput = { metrics: [m.name], groupBy, ...(w ? { where: w } : {}) };
          record(`${dialect} ${JSON.stringify(input)}`, () => compileRequest(graph, input, { dialect }));
        }
      }
      for (const { label, options } of optionSets.slice(1)) {
        const input: RequestInput = { metrics: [m.name], groupBy };
        record(`${label} ${JSON.stringify(input)}`, () => compileRequest(graph, input, options));
      }
    }
    // Ranges, zones, gaps, order and limits.
    for (const extra of [
      { from: '2024-01-01', to: '2024-03-01' },
      { from: '2024-01-01 10:00', to: '2024-01-05', timeZone: 'Asia/Seoul' },
      { fillGaps: true, from: '2024-01-01', to: '2024-02-01' },
      { orderBy: [`-${m.name}`], limit: 10 },
      { timeZone: 'America/New_York' },
    ]) {
      for (const groupBy of [['metric_time.day'], ['metric_time.month', dims[dims.length - 1]], ['metric_time.week']]) {
        for (const dialect of dialects) {
          const input: RequestInput = { metrics: [m.name], groupBy, ...extra };
          record(`${dialect} ${JSON.stringify(input)}`, () => compileRequest(graph, input, { dialect }));
        }
      }
    }
  }
  // Pairs of metrics.
  const names = catalog.metrics.map((m) => m.name);
  for (let i = 0; i < names.length; i++) {
    for (let j = 0; j < names.length; j++) {
      if (i === j) continue;
      for (const groupBy of [['metric_time.day'], ['metric_time.month', 'user.country'], ['user.plan']]) {
        const input: RequestInput = { metrics: [names[i], names[j]], groupBy };
        record(`duckdb ${JSON.stringify(input)}`, () => compileRequest(graph, input));
        record(`rowFilters ${JSON.stringify(input)}`, () => compileRequest(graph, input, { rowFilters: [where("user.plan = 'free'")], filters: [where("user.country <> 'KR'")] }));
      }
    }
  }
  // Everything at once, and group-by values only.
  for (const dialect of dialects) {
    for (const groupBy of [['metric_time.day'], ['metric_time.month', 'user.country', 'user.plan']]) {
      const input: RequestInput = { metrics: names, groupBy };
      record(`${dialect} ${JSON.stringify(input)}`, () => compileRequest(graph, input, { dialect }));
    }
    for (const input of [
      { groupBy: ['user.country'] },
      { groupBy: ['user.country', 'user.plan'], where: "user.plan <> 'free'" },
      { groupBy: ['order.ordered_at.day'], minMax: true },
      { groupBy: ['order.status', 'user.country'], distinct: false, limit: 5 },
    ] satisfies RequestInput[]) {
      record(`${dialect} ${JSON.stringify(input)}`, () => compileRequest(graph, input, { dialect }));
    }
  }

  // Routed to the example rollups, built from a small demo database.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tally-corpus-'));
  try {
    const db = path.join(dir, 'demo.duckdb');
    await seedDemoDatabase(db, { events: 3000, seed: 7 });
    const base = await DuckDBEngine.open({ path: db, readOnly: true });
    const store = await openRollupStore({ store: 'duckdb', path: ':memory:', schema: 'tally_rollups' });
    await buildRollups(project, base, { store });
    // The build time and source differ from run to run; fixed values keep the corpus comparable.
    const built = (await store.list()).map((b) => ({ ...b, builtAt: '2026-01-01T00:00:00.000Z', source: undefined, commit: undefined, partitions: b.partitions.map((p) => ({ ...p, builtAt: '2026-01-01T00:00:00.000Z' })) }));
    await store.close();
    await base.close();
    const fingerprints = new Map([...graph.rollups.keys()].map((n) => [n, definitionFingerprint(graph, n)]));
    const rollups: RollupOptions = { built, fingerprint: (n) => fingerprints.get(n), dialect: 'duckdb' };
    for (const m of catalog.metrics) {
      for (const g of ['', 'day', 'week', 'month', 'year']) {
        const time = g ? [`metric_time.${g}`] : [];
        for (const groupBy of [time, [...time, 'user.country'], [...time, 'user.plan'], [...time, 'order.status', 'user.country']]) {
          for (const w of [undefined, "order.status = 'paid'", "user.country = 'KR'"]) {
            for (const extra of [{}, { from: '2024-02-03', to: '2024-05-01' }]) {
              const input: RequestInput = { metrics: [m.name], groupBy, ...(w ? { where: w } : {}), ...extra };
              record(`rollups ${JSON.stringify(input)}`, () => compileRequest(graph, input, { rollups, dialect: 'postgres' }));
              record(`rollups+rowFilters ${JSON.stringify(input)}`, () => compileRequest(graph, input, { rollups, rowFilters: [where("user.country IN ('KR', 'US')")] }));
            }
          }
        }
      }
    }
    for (const groupBy of [['user.plan'], ['metric_time.month'], ['metric_time.day', 'user.country']]) {
      const input: RequestInput = { metrics: ['revenue', 'orders'], groupBy, limit: 100_001 };
      record(`rollups ${JSON.stringify(input)}`, () => compileRequest(graph, input, { rollups, rowFilters: [] }));
      record(`rollups+rowFilters ${JSON.stringify(input)}`, () => compileRequest(graph, input, { rollups, rowFilters: [where("user.plan = 'pro'")] }));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // The bench's generated project.
  const generated = projectFromSources(generatedProject(200, 500)).graph;
  const metrics = [...generated.metrics.keys()];
  for (const dialect of dialects) {
    for (const [n, g] of [[1, 1], [5, 3], [20, 5], [80, 10], [metrics.length, 21]]) {
      const input: RequestInput = { metrics: metrics.slice(0, n), groupBy: generatedGroupBys(g), from: '2024-01-01', to: '2024-04-01' };
      record(`generated ${dialect} ${n}x${g}`, () => compileRequest(generated, input, { dialect }));
    }
    for (let i = 0; i < metrics.length; i += 7) {
      const input: RequestInput = { metrics: [metrics[i], metrics[(i * 13) % metrics.length]], groupBy: generatedGroupBys(1 + (i % 6)), where: `d${i % 10}.label <> 'x'` };
      record(`generated ${dialect} ${JSON.stringify(input)}`, () => compileRequest(generated, input, { dialect }));
    }
  }
  await new Promise<void>((resolve) => file.end(resolve));
  console.error(`${count} requests (${errors} refused) written to ${out}`);
}

await main();
