/**
 * The command line's own cost, measured (never asserted): how long `tally --help` takes to start
 * beside bare `node` and beside running the TypeScript sources through tsx (what every call cost
 * before dist/), and what `tally query` costs beyond the engine: the whole command beside a fresh
 * Node process that only opens the DuckDB file and runs the same SQL.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { compileRequest, type Project } from '../src/index.js';
import { ms, type Row, timeSideBySide } from './measure.js';

const run = promisify(execFile);
const node = (...args: string[]) => (): Promise<unknown> => run(process.execPath, args, { maxBuffer: 256 * 1024 * 1024 });

export async function cliBenchmarks(project: Project, db: string): Promise<Row[]> {
  const rows: Row[] = [];
  if (!existsSync('dist/.built')) {
    rows.push({ section: 'cli', measure: 'dist/ is not built (npm run build); startup not measured', value: '-', target: '-', met: undefined });
    return rows;
  }
  const start = await timeSideBySide(
    {
      node: node('-e', ''),
      dist: node('bin/tally.js', '--help'),
      tsx: node('--import', 'tsx', 'src/cli/main.ts', '--help'),
    },
    { runs: 7, warmup: 1 },
  );
  rows.push({ section: 'cli', measure: `tally --help (bare node ${ms(start.node)}; from the sources through tsx ${ms(start.tsx)})`, value: ms(start.dist), target: '≤ 300 ms', met: start.dist <= 300 });

  const request = { metrics: ['dau', 'revenue'], groupBy: ['metric_time.month'] };
  const sql = compileRequest(project.graph, request).sql;
  const engineOnly = `import { DuckDBInstance } from '@duckdb/node-api';
    const db = await DuckDBInstance.create(process.argv[1], { access_mode: 'READ_ONLY' });
    const c = await db.connect(); await c.runAndReadAll(process.argv[2]); c.closeSync(); db.closeSync();`;
  const query = await timeSideBySide(
    {
      engine: node('--input-type=module', '-e', engineOnly, db, sql),
      tally: node('bin/tally.js', 'query', '-m', request.metrics.join(','), '-g', request.groupBy.join(','), '--db', db, '-f', 'json'),
    },
    { runs: 5, warmup: 1 },
  );
  const ratio = query.tally / query.engine;
  rows.push({
    section: 'cli',
    measure: `tally query dau,revenue by month ${ms(query.tally)} / a fresh node process running its SQL on DuckDB ${ms(query.engine)}`,
    value: `${ratio.toFixed(2)}×`,
    target: '-',
    met: undefined,
  });
  return rows;
}
