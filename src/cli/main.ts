/** The `tally` command: thin wrappers over the library. */
import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
// Only light modules at the top: `tally --help` must not load the engines, the SQL parser or
// GraphQL. Each command imports what it needs when it runs (see `lazy` below).
import type { EngineConfig } from '../config.js';
import { DEFAULT_DUCKDB_PATH, DEFAULT_SEED, DEFAULT_SEED_EVENTS } from '../defaults.js';
import { DefinitionError, TallyError } from '../errors.js';
import type { RequestInput } from '../query/request.js';
import type { RollupRouting } from '../rollups/route.js';
import { diffCommand } from './diff.js';
import { experimentCommand } from './experiment.js';
import { importCommand } from './import.js';
import { progressReporter } from './progress.js';
import { checkCommand } from './check.js';
import { rollupCommand } from './rollup.js';
import { chosenEngine, type EngineFlags, engineOption, lazy, positive } from './common.js';
import { serveCommand } from './serve.js';


export const DEFAULT_DB = DEFAULT_DUCKDB_PATH;

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

function requestOptions(cmd: Command): Command {
  return cmd
    .option('-m, --metrics <names>', 'metrics, comma-separated (none: list the values of the group-bys)', list, [])
    .option('-g, --group-by <refs>', 'group-by references, comma-separated (user.country, metric_time.month)', list, [])
    .option('--saved-query <name>', "run a saved query; -m, -g, -o and -l replace its own, -w adds to its filter")
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
  savedQuery?: string;
}

function toRequest(o: RequestFlags): RequestInput {
  if (!o.metrics.length && !o.groupBy.length && !o.savedQuery) {
    throw new TallyError('INVALID_REQUEST', 'name metrics (-m), group-bys to list their values (-g), or a saved query (--saved-query)');
  }
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
    savedQuery: o.savedQuery,
  };
}

const projectDir = (): string => resolve(program.opts<{ project: string }>().project);
const warn = (warnings: string[]): void => warnings.forEach((w) => console.error(`warning: ${w}`));


program
  .command('validate')
  .description('check every definition; reports all problems as file:line:col')
  .action(async () => {
    const { loadProject } = await lazy.project();
    const project = loadProject(projectDir());
    const g = project.graph;
    // A rollup's schedule name must be one tally.yml defines, as `tally serve` requires.
    if (g.rollups.size > 0) {
      const [{ loadConfig }, { rollupCron }] = await Promise.all([lazy.config(), lazy.rollupSchedule()]);
      const schedules = loadConfig(projectDir()).rollupSchedules;
      const problems = [...g.rollups.values()].flatMap((r) => {
        try {
          rollupCron(r, schedules);
          return [];
        } catch (e) {
          if (!(e instanceof TallyError)) throw e;
          const at = `${r.source.file}:${r.source.line}:${r.source.col}: `;
          return [{ file: r.source.file, line: r.source.line, col: r.source.col, message: e.message.startsWith(at) ? e.message.slice(at.length) : e.message }];
        }
      });
      if (problems.length) throw new DefinitionError(problems);
    }
    // A checked-in schema.graphql must be what the definitions generate (a test checks it too).
    const schemaFile = resolve(projectDir(), 'schema.graphql');
    if (existsSync(schemaFile)) {
      const [{ buildSchema }, { printSchema }] = await Promise.all([lazy.schema(), lazy.graphql()]);
      const generated = printSchema(buildSchema(g)) + '\n';
      const current = readFileSync(schemaFile, 'utf8');
      if (current !== generated) {
        const a = current.split('\n');
        const b = generated.split('\n');
        let line = 0;
        while (line < a.length && line < b.length && a[line] === b[line]) line++;
        const shown = relative(process.cwd(), schemaFile) || schemaFile;
        throw new DefinitionError([{ file: shown, line: line + 1, col: 1, message: `out of date with the definitions (first difference here); regenerate it: npx tally schema > ${shown}` }]);
      }
    }
    console.log(`ok: ${g.models.size} semantic models, ${g.measures.size} measures, ${g.metrics.size} metrics (version ${project.version})`);
  });

program
  .command('list')
  .description('list metrics with their type, owner and description')
  .action(async () => {
    const { loadProject } = await lazy.project();
    const { graph } = loadProject(projectDir());
    const rows = [...graph.metrics.values()].map((m) => [m.name, m.def.type, m.def.owner ?? '', m.def.description ?? '']);
    const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length), ['metric', 'type', 'owner'][i].length));
    const fmt = (r: string[]): string => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c)).join('  ');
    console.log(fmt(['metric', 'type', 'owner', 'description']));
    for (const r of rows) console.log(fmt(r));
  });

requestOptions(program.command('compile').description('print the SQL for a request'))
  .option('--dialect <name>', "SQL dialect: duckdb, postgres, bigquery, snowflake, trino or redshift (default: tally.yml's, else duckdb)")
  .option('--rollups', "route as 'tally query' does: print the SQL over the rollup store's tables where a built rollup serves the request")
  .option('--explain', 'with --rollups: say on stderr which rollup would answer, or why none would')
  .option('--db <file>', "with --rollups: the DuckDB file the request reads (rollups built from another database are not used)")
  .action(async (o: RequestFlags & { dialect?: string; rollups?: boolean; explain?: boolean; db?: string }) => {
    const [{ loadProject }, { loadConfig }, { compileRequest }, { dialectByName }] = await Promise.all([lazy.project(), lazy.config(), lazy.compile(), lazy.dialects()]);
    const project = loadProject(projectDir());
    const dialect = dialectByName(o.dialect ?? loadConfig(projectDir()).dialect);
    // A rollup store in a schema of the engine needs the engine: only the embedded store is read here.
    const config = loadConfig(projectDir());
    // Only --rollups loads the store (and with it DuckDB): plain compile stays free of engines.
    const rollups = o.rollups && config.rollups?.store !== 'engine' ? await lazy.rollupSource().then(({ openRollupSource, databaseIdentity }) => openRollupSource(project, undefined, databaseIdentity(o.db ? { type: 'duckdb', path: o.db } : config.engine))) : undefined;
    try {
      const compiled = compileRequest(project.graph, toRequest(o), { dialect, rollups: rollups && { ...rollups.source, dialect: rollups.source.engine.dialect } });
      if (o.explain) process.stderr.write(explainRollups(compiled.rollups, !o.rollups ? 'not asked (add --rollups)' : project.graph.rollups.size === 0 ? 'the project declares none' : 'none is built yet (tally rollup build)'));
      warn(compiled.warnings);
      process.stdout.write(compiled.sql);
    } finally {
      await rollups?.close();
    }
  });

requestOptions(program.command('query').description('run a request and print the answer'))
  .option('--db <file>', `DuckDB database file (default: tally.yml's engine, else ${DEFAULT_DB})`)
  .addOption(engineOption())
  .addOption(new Option('-f, --format <format>', 'output format (table: display formats; json and csv: full precision)').choices(['table', 'json', 'csv']).default('table'))
  .option('--formatted', "csv: write each metric in its display format (its definition's format and decimals) instead of full precision")
  .option('--timeout <ms>', 'stop the query after this many milliseconds', positive)
  .option('--no-rollups', 'read the base tables even where a built rollup gives the same answer')
  .option('--explain', 'say on stderr which rollup answered (built at, version, fingerprint), or why none did, per metric')
  .action(async (o: RequestFlags & EngineFlags & { format: 'table' | 'json' | 'csv'; formatted?: boolean; timeout?: number; rollups: boolean; explain?: boolean }) => {
    const [{ loadProject }, { openEngine }, { runQuery }, { toCsv, toJson, toTable }] = await Promise.all([lazy.project(), lazy.engines(), lazy.run(), lazy.output()]);
    const project = loadProject(projectDir());
    const target = await chosenEngine(o, projectDir);
    const engine = await openEngine(target);
    // Rollups answer where they provably give the base answer (src/rollups/route.ts), if built from this database.
    const { openRollupSource, databaseIdentity } = await lazy.rollupSource();
    const rollups = o.rollups ? await openRollupSource(project, engine, databaseIdentity(target)) : undefined;
    try {
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      const result = await runQuery(project, engine, toRequest(o), { timeoutMs: o.timeout, signal: controller.signal, rollups: rollups?.source });
      if (o.explain) process.stderr.write(explainRollups(result.rollups, !o.rollups ? 'not asked (--no-rollups)' : project.graph.rollups.size === 0 ? 'the project declares none' : 'none is built yet (tally rollup build)'));
      warn(result.warnings);
      // Data health of the inputs (src/checks/health.ts): stale data, failed checks, an incomplete last period.
      const [{ DataHealth }, { openStateStore }, { loadConfig, stateConfigOf }] = await Promise.all([lazy.health(), lazy.state(), lazy.config()]);
      const store = openStateStore(stateConfigOf(loadConfig(projectDir()), projectDir()));
      try {
        result.health = await new DataHealth(engine, store).forAnswer(project.graph, result);
      } finally {
        await store.close?.();
      }
      warn(result.health.warnings);
      const { metricFormats } = await lazy.catalog();
      const display = { formats: metricFormats(project.graph), formatted: o.formatted };
      const out = o.format === 'json' ? toJson(result) + '\n' : o.format === 'csv' ? toCsv(result, display) : toTable(result, display);
      process.stdout.write(out);
    } finally {
      await rollups?.close();
      await engine.close();
    }
  });

/** `--explain`: which rollups answered and from which build, or why none did, leaf by leaf. */
function explainRollups(routing: RollupRouting | undefined, without: string): string {
  if (!routing) return `rollups: not used: ${without}\n`;
  if (routing.served) {
    return routing.rollups.map((r) => `rollups: answered from ${r.name} (table ${r.table}), built ${r.builtAt} from definitions ${r.version}${r.commit ? ` (commit ${r.commit})` : ''}, fingerprint ${r.fingerprint}\n`).join('') + routing.leaves.map((l) => `  ${l.leaf}: ${l.rollup}\n`).join('');
  }
  const lines = [`rollups: not used: ${routing.reason}`];
  for (const u of routing.unusable) lines.push(`  ${u.name}: ${u.reason}`);
  for (const l of routing.leaves) lines.push(`  ${l.leaf}: ${l.rollup ? `served by ${l.rollup}` : (l.refused ?? []).join('; ')}`);
  return lines.join('\n') + '\n';
}

program
  .command('seed')
  .description("write the deterministic demo data: a DuckDB file, or tables in tally.yml's Postgres or Trino (--engine postgres|trino)")
  .option('--events <n>', 'number of events', positive, DEFAULT_SEED_EVENTS)
  .option('--seed <n>', 'random seed', (v) => Number(v), DEFAULT_SEED)
  .option('--out <file>', `DuckDB database file (default: tally.yml's, else ${DEFAULT_DB})`)
  .addOption(engineOption())
  .option('--progress', 'show progress on stderr even when it is not a terminal')
  .action(async (o: { events: number; seed: number; out?: string; engine?: EngineConfig['type']; progress?: boolean }) => {
    const progress = progressReporter('seed', { forced: o.progress });
    const onProgress = (done: number, total: number, step: string): void => progress.step(done, total, `building ${step}`);
    const started = Date.now();
    const target = await chosenEngine({ db: o.out, engine: o.engine }, projectDir);
    const elapsed = (): string => ((Date.now() - started) / 1000).toFixed(1);
    const counts = (tables: Record<string, number>): string => Object.entries(tables).map(([t, n]) => `${t}=${n}`).join(' ');
    if (target.type === 'postgres') {
      const [{ openPostgres }, { seedPostgres }] = await Promise.all([lazy.engines(), lazy.seedPostgres()]);
      const engine = await openPostgres(target);
      try {
        const summary = await seedPostgres(engine, { events: o.events, seed: o.seed, onProgress });
        progress.end();
        console.log(`seeded Postgres in ${elapsed()} s: ${counts(summary.tables)}`);
      } finally {
        await engine.close();
      }
      return;
    }
    if (target.type === 'trino') {
      const [{ openTrino }, { seedTrino }] = await Promise.all([lazy.engines(), lazy.seedTrino()]);
      const engine = await openTrino(target);
      try {
        const summary = await seedTrino(engine, { events: o.events, seed: o.seed, onProgress });
        progress.end();
        console.log(`seeded Trino in ${elapsed()} s: ${counts(summary.tables)}`);
      } finally {
        await engine.close();
      }
      return;
    }
    const { seedDemoDatabase } = await lazy.seedDemo();
    const summary = await seedDemoDatabase(target.path, { events: o.events, seed: o.seed, onProgress });
    progress.end();
    console.log(`seeded ${summary.file} in ${elapsed()} s: ${counts(summary.tables)}`);
  });

serveCommand(program, projectDir);

program
  .command('key')
  .description('API keys for the GraphQL API')
  .command('create')
  .description('make a new API key: prints the key (shown once) and the entry with its hash for auth.api_keys in tally.yml')
  .requiredOption('--name <name>', 'who holds the key, e.g. dashboards')
  .option('--roles <roles>', 'roles, comma-separated (from the access policy in metrics/)', list, [])
  .option('--claim <name=value...>', 'a claim for row filters, e.g. --claim country=KR (repeat for more)')
  .action(async (o: { name: string; roles: string[]; claim?: string[] }) => {
    const claims: Record<string, string> = {};
    for (const c of o.claim ?? []) {
      const i = c.indexOf('=');
      if (i <= 0) throw new InvalidArgumentError(`--claim ${c}: write name=value`);
      claims[c.slice(0, i)] = c.slice(i + 1);
    }
    const { createApiKey } = await lazy.authenticate();
    const { key, hash } = createApiKey();
    console.error('The key (shown only now; store it where its holder keeps secrets):');
    console.log(key);
    console.error('\nAdd this under auth.api_keys in tally.yml (or in the file named by api_keys_file); it holds only the hash:');
    const entry = { name: o.name, hash, roles: o.roles, ...(Object.keys(claims).length ? { claims } : {}) };
    console.error(`  - ${JSON.stringify(entry)}`);
  });

program
  .command('schema')
  .description('print the GraphQL schema generated from the definitions (schema.graphql is this output)')
  .action(async () => {
    const [{ loadProject }, { buildSchema }, { printSchema }] = await Promise.all([lazy.project(), lazy.schema(), lazy.graphql()]);
    const { graph } = loadProject(projectDir());
    process.stdout.write(printSchema(buildSchema(graph)) + '\n');
  });

diffCommand(program, projectDir);
experimentCommand(program, projectDir);
importCommand(program);
checkCommand(program, projectDir);
rollupCommand(program, projectDir);

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof DefinitionError) {
    console.error(e.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`).join('\n'));
    console.error(`${e.problems.length} problem${e.problems.length === 1 ? '' : 's'} found`);
  } else if (e instanceof TallyError) {
    console.error(`error [${e.code}]: ${e.message}`);
  } else if (e instanceof Error && typeof (e as NodeJS.ErrnoException).syscall === 'string') {
    // A file that cannot be read or written: the system's one-line message says which and why.
    console.error(`error: ${e.message}`);
  } else if (process.env.TALLY_DEBUG) {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  } else {
    console.error(`internal error: ${e instanceof Error ? e.message : String(e)} (this is a bug in tally; TALLY_DEBUG=1 prints where it happened)`);
  }
  process.exit(1);
});
