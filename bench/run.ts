/**
 * `npm run bench`: medians and ratios measured side by side in one run, each beside its target.
 * `--quick` uses 1M events instead of 10M; `--events N` sets the size; `--only load,compile,sql,api,cli,scale,rollups`.
 * The scale section (bench/scale.ts) answers the dashboard requests at 1M and 10M events (1M alone
 * with `--quick`), and also at N with `--events N` (say 100000000: built once, then kept in .tally/),
 * from the base tables and from the example rollups; the rollups section (bench/rollups.ts) gives
 * each request's engine time both ways and the ≤ 5 ms target.
 */
import { performance } from 'node:perf_hooks';
import { compileRequest, DuckDBEngine, loadProject, projectFromSources, type RequestInput } from '../src/index.js';
import { parseExpression } from '../src/query/parse-expression.js';
import { apiBenchmarks } from './api.js';
import { cliBenchmarks } from './cli.js';
import { rollupAnswerers, rollupRows, rollupScale } from './rollups.js';
import { generatedGroupBys, generatedProject } from './generated-project.js';
import { BENCH_CASES } from './hand-written.js';
import { canonical, ms, printTable, type Row, timeSideBySide, timeSync } from './measure.js';
import { benchDatabase, scaleTable } from './scale.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const events = Number(flag('--events') ?? (args.includes('--quick') ? 1_000_000 : 10_000_000));
const only = new Set((flag('--only') ?? 'load,compile,sql,api,cli,scale,rollups').split(','));
const scaleSizes = [...new Set([1_000_000, ...(args.includes('--quick') ? [] : [10_000_000]), ...(flag('--events') ? [events] : [])])];
const rows: Row[] = [];
/** The i-th day from 2020-01-01, YYYY-MM-DD. */
const day = (i: number): string => new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
const report = (row: Row): void => {
  rows.push(row);
  console.error(`  ${row.section}: ${row.measure} = ${row.value}${row.met === false ? '  (target missed)' : ''}`);
};

async function main(): Promise<void> {
  const db = await benchDatabase(events);
  const project = loadProject('.');

  if (only.has('load')) {
    const example = timeSync(() => loadProject('.'), { runs: 20, warmup: 3 });
    report({ section: 'load', measure: 'example project: load + validate', value: ms(example), target: '-', met: undefined });
    const sources = generatedProject(200, 500);
    const big = timeSync(() => projectFromSources(sources), { runs: 10, warmup: 2 });
    report({ section: 'load', measure: '200 models, 500 metrics: load + validate', value: ms(big), target: '≤ 200 ms', met: big <= 200 });
  }

  if (only.has('compile')) {
    // Every timed compile is of a request not compiled before: each run asks for another range,
    // so no memo of compiled requests (should one be added) can answer it.
    // The requests are made before the clock starts.
    let n = 0;
    const fresh = (request: RequestInput, count: number): (() => RequestInput) => {
      const requests = Array.from({ length: count }, () => {
        const i = n++;
        return { ...request, from: day(i % 1500), to: day((i % 1500) + 30 + (i % 400)) };
      });
      let next = 0;
      return () => requests[next++];
    };
    const perMetric = [...project.graph.metrics.keys()].map((m) => {
      const groupBy = m === 'average_order_value' ? [] : ['metric_time.day'];
      const request = fresh({ metrics: [m], groupBy }, 220);
      return timeSync(() => compileRequest(project.graph, request()), { runs: 200, warmup: 20 });
    });
    const sorted = [...perMetric].sort((a, b) => a - b);
    const medianOfAll = sorted[sorted.length >> 1];
    report({ section: 'compile', measure: `one example metric by day, a new range each time (median over ${perMetric.length} metrics; slowest ${ms(sorted[sorted.length - 1])})`, value: ms(medianOfAll), target: '≤ 0.1 ms', met: medianOfAll <= 0.1 });
    // A typical caller filter: parsed once (then memoised) and type-checked on every compile.
    const where = "user.country IN ('KR', 'JP') AND order.status <> 'cancelled' AND metric_time.day >= '2025-01-01'";
    const withWhere = fresh({ metrics: ['orders'], groupBy: ['metric_time.day'], where }, 220);
    const filtered = timeSync(() => compileRequest(project.graph, withWhere()), { runs: 200, warmup: 20 });
    report({ section: 'compile', measure: 'one metric by day with a typical where (its parse memoised), a new range each time', value: ms(filtered), target: '≤ 0.2 ms', met: filtered <= 0.2 });
    // What the API compiles per uncached request (bench/api.ts): a new limit each time, the caller's
    // row filter applied as src/api/query-runner.ts applies it.
    let limit = 10_000;
    const rowFilters = [parseExpression("user.country IN ('KR', 'US')")];
    const served = timeSync(() => compileRequest(project.graph, { metrics: ['revenue', 'orders'], groupBy: ['user.plan'], limit: limit++ }, { filters: [], rowFilters }), { runs: 500, warmup: 50 });
    report({ section: 'compile', measure: "the API's request (revenue, orders by user.plan, a row filter), a new limit each time", value: ms(served), target: '-', met: undefined });
    const parsed = timeSync(() => parseExpression(where), { runs: 500, warmup: 50 });
    report({ section: 'compile', measure: 'parsing that where without the memo (filter.peggy)', value: ms(parsed), target: '-', met: undefined });
    const generated = projectFromSources(generatedProject(200, 500));
    const metrics = [...generated.graph.metrics.keys()];
    const twentyRequest = fresh({ metrics: metrics.slice(0, 20), groupBy: generatedGroupBys(5) }, 55);
    const twenty = timeSync(() => compileRequest(generated.graph, twentyRequest()), { runs: 50, warmup: 5 });
    report({ section: 'compile', measure: '20 metrics × 5 group-bys', value: ms(twenty), target: '-', met: undefined });
    const eightyRequest = fresh({ metrics: metrics.slice(0, 80), groupBy: generatedGroupBys(10) }, 23);
    const eighty = timeSync(() => compileRequest(generated.graph, eightyRequest()), { runs: 20, warmup: 3 });
    report({ section: 'compile', measure: '80 metrics × 10 group-bys', value: ms(eighty), target: '≤ 5 ms', met: eighty <= 5 });
  }

  const engine = await DuckDBEngine.open({ path: db, readOnly: true });
  try {
    if (only.has('sql')) {
      for (const c of BENCH_CASES) {
        const compiled = compileRequest(project.graph, c.request);
        const tally = await engine.query(compiled.sql);
        for (const h of c.handWritten) {
          const hand = await engine.query(h.sql);
          const same = JSON.stringify(canonical(tally.rows)) === JSON.stringify(canonical(hand.rows));
          if (!same) {
            report({ section: 'sql', measure: `${c.name}: results differ from '${h.name}' (${tally.rows.length} vs ${hand.rows.length} rows)`, value: 'DIFFERENT', target: 'equal', met: false });
          }
        }
        const contenders: Record<string, () => Promise<unknown>> = { tally: () => engine.query(compiled.sql) };
        for (const h of c.handWritten) contenders[h.name] = () => engine.query(h.sql);
        // Fast queries get more rounds: their medians are noisier.
        const probe = performance.now();
        await engine.query(compiled.sql);
        const runs = performance.now() - probe < 300 ? 15 : 3;
        const times = await timeSideBySide(contenders, { runs, warmup: 1 });
        const hand = c.handWritten.map((h) => ({ name: h.name, t: times[h.name] })).sort((a, b) => a.t - b.t);
        const ratio = times.tally / hand[0].t;
        report({
          section: 'sql',
          measure: `${c.name}: Tally ${ms(times.tally)} / fastest hand-written (${hand[0].name}) ${ms(hand[0].t)}`,
          value: `${ratio.toFixed(2)}×`,
          target: '≤ 1.05×',
          met: ratio <= 1.05,
        });
        if (c.name.startsWith('WAU and MAU')) {
          const peers = times['spine range join (peers)'];
          report({ section: 'sql', measure: `WAU and MAU by day over a year: spine range join ${ms(peers)} / Tally ${ms(times.tally)}`, value: `${(peers / times.tally).toFixed(1)}× faster`, target: '≥ 10×', met: peers / times.tally >= 10 });
        }
      }
    }
    if (only.has('api')) for (const row of await apiBenchmarks(project, engine, db)) report(row);
  } finally {
    await engine.close();
  }
  // Separate processes open the file, after this one has closed it.
  if (only.has('cli')) for (const row of await cliBenchmarks(project, db)) report(row);
  if (only.has('scale')) {
    for (const row of await scaleTable(project, scaleSizes, rollupAnswerers(project))) report(row);
  }
  if (only.has('rollups')) {
    // Each dashboard request's engine time from the base tables and from the rollups, per size.
    const scales = [];
    for (const n of scaleSizes) scales.push(await rollupScale(n, 11, (l) => console.error(`  ${l}`)));
    for (const row of rollupRows(scales)) report(row);
  }
  console.log(`\nTally benchmark: ${events.toLocaleString('en-US')} events, ${new Date().toISOString().slice(0, 16)}Z, node ${process.version}\n`);
  printTable(rows);
}

await main();
