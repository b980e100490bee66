/** The `tally` command: thin wrappers over the library. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { printSchema } from 'graphql';
import { buildSchema } from '../api/schema.js';
import { TallyServer } from '../api/server.js';
import { compileRequest } from '../compile.js';
import { DuckDBEngine } from '../engines/duckdb.js';
import { DefinitionError, TallyError } from '../errors.js';
import { toCsv, toJson, toTable } from '../output.js';
import { loadProject } from '../project.js';
import type { RequestInput } from '../query/request.js';
import { runQuery } from '../run.js';
import { DEFAULT_SEED, DEFAULT_SEED_EVENTS, seedDemoDatabase } from '../seed/demo.js';

export const DEFAULT_DB = '.tally/demo.duckdb';

// `tally query … | head` closes the pipe early; that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const program = new Command()
  .name('tally')
  .description('Metrics as YAML, compiled to auditable SQL')
  .option('-p, --project <dir>', 'project directory (holds metrics/)', '.')
  .showHelpAfterError();

const list = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const positive = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
  return n;
};

function requestOptions(cmd: Command): Command {
  return cmd
    .requiredOption('-m, --metrics <names>', 'metrics, comma-separated', list)
    .option('-g, --group-by <refs>', 'group-by references, comma-separated (user.country, metric_time.month)', list, [])
    .option('-w, --where <expr>', "filter, e.g. \"user.country IN ('KR','US')\"")
    .option('--from <date>', 'start of the time range (inclusive)')
    .option('--to <date>', 'end of the time range (inclusive)')
    .option('-o, --order-by <refs>', 'order, comma-separated; a leading - sorts descending', list, [])
    .option('-l, --limit <n>', 'maximum number of rows', positive)
    .option('--time-zone <tz>', 'IANA time zone that decides where days begin', 'UTC')
    .option('--fill-gaps', 'one row per period of metric_time, even without data');
}

interface RequestFlags {
  metrics: string[];
  groupBy: string[];
  where?: string;
  from?: string;
  to?: string;
  orderBy: string[];
  limit?: number;
  timeZone: string;
  fillGaps?: boolean;
}

function toRequest(o: RequestFlags): RequestInput {
  return {
    metrics: o.metrics,
    groupBy: o.groupBy,
    where: o.where,
    from: o.from,
    to: o.to,
    orderBy: o.orderBy,
    limit: o.limit,
    timeZone: o.timeZone,
    fillGaps: o.fillGaps ?? false,
  };
}

const projectDir = (): string => resolve(program.opts<{ project: string }>().project);

program
  .command('validate')
  .description('check every definition; reports all problems as file:line:col')
  .action(() => {
    const project = loadProject(projectDir());
    const g = project.graph;
    console.log(`ok: ${g.models.size} semantic models, ${g.measures.size} measures, ${g.metrics.size} metrics (version ${project.version})`);
  });

program
  .command('list')
  .description('list metrics with their type, owner and description')
  .action(() => {
    const { graph } = loadProject(projectDir());
    const rows = [...graph.metrics.values()].map((m) => [m.name, m.def.type, m.def.owner ?? '', m.def.description ?? '']);
    const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length), ['metric', 'type', 'owner'][i].length));
    const fmt = (r: string[]): string => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c)).join('  ');
    console.log(fmt(['metric', 'type', 'owner', 'description']));
    for (const r of rows) console.log(fmt(r));
  });

requestOptions(program.command('compile').description('print the SQL for a request')).action((o: RequestFlags) => {
  const { graph } = loadProject(projectDir());
  process.stdout.write(compileRequest(graph, toRequest(o)).sql);
});

requestOptions(program.command('query').description('run a request and print the answer'))
  .option('--db <file>', 'DuckDB database file', DEFAULT_DB)
  .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json', 'csv']).default('table'))
  .option('--timeout <ms>', 'stop the query after this many milliseconds', positive)
  .action(async (o: RequestFlags & { db: string; format: 'table' | 'json' | 'csv'; timeout?: number }) => {
    const project = loadProject(projectDir());
    const engine = await DuckDBEngine.open({ path: o.db, readOnly: true, mustExist: true });
    try {
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      const result = await runQuery(project, engine, toRequest(o), { timeoutMs: o.timeout, signal: controller.signal });
      const out = o.format === 'json' ? toJson(result) + '\n' : o.format === 'csv' ? toCsv(result) : toTable(result);
      process.stdout.write(out);
    } finally {
      await engine.close();
    }
  });

program
  .command('seed')
  .description('write the deterministic demo database')
  .option('--events <n>', 'number of events', positive, DEFAULT_SEED_EVENTS)
  .option('--seed <n>', 'random seed', (v) => Number(v), DEFAULT_SEED)
  .option('--out <file>', 'database file', DEFAULT_DB)
  .action(async (o: { events: number; seed: number; out: string }) => {
    const started = Date.now();
    const summary = await seedDemoDatabase(o.out, { events: o.events, seed: o.seed });
    const counts = Object.entries(summary.tables).map(([t, n]) => `${t}=${n}`).join(' ');
    console.log(`seeded ${summary.file} in ${((Date.now() - started) / 1000).toFixed(1)} s: ${counts}`);
  });

program
  .command('serve')
  .description('serve the GraphQL API (with GraphiQL) over the DuckDB database, seeding the demo data on first run')
  .option('--port <n>', 'port', (v) => Number(v), 4000)
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--db <file>', 'DuckDB database file', DEFAULT_DB)
  .option('--watch', 'reload the definitions when metrics/ changes')
  .option('--timeout <ms>', 'stop a query after this many milliseconds', positive, 30_000)
  .action(async (o: { port: number; host: string; db: string; watch?: boolean; timeout: number }) => {
    if (!existsSync(o.db) && resolve(o.db) === resolve(DEFAULT_DB)) {
      console.log(`creating the demo data in ${o.db} (first run only)…`);
      const summary = await seedDemoDatabase(o.db, {});
      console.log(`seeded ${Object.entries(summary.tables).map(([t, n]) => `${t}=${n}`).join(' ')}`);
    }
    const engine = await DuckDBEngine.open({ path: o.db, readOnly: true, mustExist: true });
    const server = new TallyServer({ projectDir: projectDir(), engine, watch: o.watch, timeoutMs: o.timeout });
    const url = await server.listen(o.port, o.host);
    const { graph, version } = server.project;
    console.log(`Tally serves ${graph.metrics.size} metrics (definitions ${version}) at ${url}`);
    console.log('Open it in a browser for GraphiQL. Anyone who can reach this address may query it: there is no authentication yet.');
    const stop = async (): Promise<void> => {
      await server.close();
      await engine.close();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop());
    process.once('SIGTERM', () => void stop());
  });

program
  .command('schema')
  .description('print the GraphQL schema generated from the definitions (schema.graphql is this output)')
  .action(() => {
    const { graph } = loadProject(projectDir());
    process.stdout.write(printSchema(buildSchema(graph)) + '\n');
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof DefinitionError) {
    console.error(e.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`).join('\n'));
    console.error(`${e.problems.length} problem${e.problems.length === 1 ? '' : 's'} found`);
  } else if (e instanceof TallyError) {
    console.error(`error [${e.code}]: ${e.message}`);
  } else {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  }
  process.exit(1);
});
