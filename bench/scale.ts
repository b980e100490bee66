/**
 * `npm run bench -- --only scale`: how the cost of the same dashboard requests grows with the data.
 * The requests are the catalog's, tile by tile (src/web/public/dashboards.js: the trend over the
 * tile's range, the comparison period, the breakdown of the current period), for every dashboard
 * in metrics/*.yml. Each answerer (base tables today; a rollup store can be added as a second
 * column) answers them on demo databases of several sizes, side by side; each answerer's rows are
 * compared with the first one's, so a faster column is also a right one.
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { compileRequest, DuckDBEngine, type Cell, type Project, type RequestInput } from '../src/index.js';
import { visibleDashboards } from '../src/dashboards.js';
import { seedDemoDatabase } from '../src/seed/demo.js';
import { canonical, median, ms, type Row } from './measure.js';

/** One way to answer a request (base tables, a rollup store…), over one database. */
export interface Answerer {
  label: string;
  run(request: RequestInput): Promise<{ rows: Cell[][] }>;
}

/** Makes the answerers for one database (opened read-only by the caller); `close` runs after it is measured. */
export type AnswerersFor = (engine: DuckDBEngine, database: { events: number; path: string }) => Promise<{ answerers: Answerer[]; close?: () => Promise<void> }>;

/** Rows of the breakdown, as the catalog asks (BREAKDOWN_LIMIT in dashboards.js). */
const BREAKDOWN_LIMIT = 10;

/** The requests the catalog sends for every tile of every dashboard, named after the tile. */
export function dashboardRequests(project: Project): { name: string; request: RequestInput }[] {
  const out: { name: string; request: RequestInput }[] = [];
  for (const dashboard of visibleDashboards(project.graph, undefined)) {
    for (const tile of dashboard.tiles) {
      const timeKey = `metric_time.${tile.grain}`;
      const name = `${dashboard.name}/${tile.metric}`;
      out.push({ name: `${name} trend`, request: { metrics: [tile.metric], groupBy: [timeKey], orderBy: [timeKey], from: tile.range.from, to: tile.range.to, fillGaps: true } });
      out.push({ name: `${name} compared`, request: { metrics: [tile.metric], groupBy: [timeKey], orderBy: [timeKey], from: tile.compared.from, to: tile.compared.to } });
      if (tile.breakdown) {
        out.push({
          name: `${name} breakdown`,
          request: { metrics: [tile.metric], groupBy: [timeKey, tile.breakdown], orderBy: [`-${tile.metric}`, tile.breakdown], from: tile.current.from, to: tile.current.to, limit: BREAKDOWN_LIMIT },
        });
      }
    }
  }
  return out;
}

/** Answers from the base tables: the request compiled and run on the engine, as every uncached request is. */
export function baseTables(project: Project, engine: DuckDBEngine): Answerer {
  return { label: 'base tables', run: (request) => engine.query(compileRequest(project.graph, request).sql) };
}

/** The demo database with `events` events under .tally/ (built once, then reused). */
export async function benchDatabase(events: number): Promise<string> {
  const path = `.tally/bench-${events}.duckdb`;
  if (!existsSync(path)) {
    console.error(`building the demo data with ${events} events in ${path}…`);
    const t = performance.now();
    await seedDemoDatabase(path, { events });
    console.error(`  built in ${ms(performance.now() - t)}`);
  }
  return path;
}

/**
 * The scaling table: for each size and answerer, the sum over the dashboard requests of each
 * request's median time (the time to answer the whole dashboard, request by request), and its
 * growth against the smallest size. Requests are timed answerer beside answerer, round by round.
 */
export async function scaleTable(project: Project, sizes: number[], answerersFor: AnswerersFor, { runs = 5 } = {}): Promise<Row[]> {
  const requests = dashboardRequests(project);
  const rows: Row[] = [];
  const firstTotals = new Map<string, number>();
  for (const events of [...sizes].sort((a, b) => a - b)) {
    const path = await benchDatabase(events);
    const engine = await DuckDBEngine.open({ path, readOnly: true });
    try {
      const { answerers, close } = await answerersFor(engine, { events, path });
      try {
        const totals = new Map<string, number>(answerers.map((a) => [a.label, 0]));
        for (const { name, request } of requests) {
          const answers = await Promise.all(answerers.map((a) => a.run(request)));
          const truth = JSON.stringify(canonical(answers[0].rows));
          answers.forEach((answer, i) => {
            if (i > 0 && JSON.stringify(canonical(answer.rows)) !== truth) {
              rows.push({ section: 'scale', measure: `${name} at ${count(events)}: '${answerers[i].label}' differs from '${answerers[0].label}'`, value: 'DIFFERENT', target: 'equal', met: false });
            }
          });
          const samples = new Map<string, number[]>(answerers.map((a) => [a.label, []]));
          for (let round = 0; round < runs; round++) {
            for (const a of answerers) {
              const t = performance.now();
              await a.run(request);
              samples.get(a.label)?.push(performance.now() - t);
            }
          }
          for (const a of answerers) totals.set(a.label, (totals.get(a.label) ?? 0) + median(samples.get(a.label) ?? []));
        }
        for (const a of answerers) {
          const total = totals.get(a.label) ?? 0;
          const first = firstTotals.get(a.label);
          if (first === undefined) firstTotals.set(a.label, total);
          const growth = first === undefined ? 'baseline' : `${(total / first).toFixed(1)}× the ${count(sizes.reduce((x, y) => Math.min(x, y)))} time`;
          rows.push({
            section: 'scale',
            measure: `${requests.length} dashboard requests at ${count(events)} events, ${a.label}: ${ms(total / requests.length)} per request (${growth})`,
            value: ms(total),
            target: '-',
            met: undefined,
          });
        }
      } finally {
        await close?.();
      }
    } finally {
      await engine.close();
    }
  }
  return rows;
}

const count = (n: number): string => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n.toLocaleString('en-US'));
