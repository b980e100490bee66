/**
 * `tally check`: runs the data checks, prints the results (table, JSON or JUnit XML), keeps them
 * in the state store and exits 1 when an error-level check fails or cannot run, so that CI and
 * schedulers (Airflow, cron) can gate on it. Progress goes to stderr (./progress.ts). Like every
 * command, it loads the library only when it runs, so that `tally --help` stays fast.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { EngineConfig } from '../config.js';
import { progressReporter } from './progress.js';

interface CheckFlags {
  select: string[];
  format: 'table' | 'json' | 'junit';
  db?: string;
  engine?: EngineConfig['type'];
  state?: string;
  save: boolean;
  samples: number;
  timeout?: number;
  now?: string;
  progress?: boolean;
}

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);
const whole = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
  return n;
};

export function checkCommand(program: Command, projectDir: () => string): void {
  program
    .command('check')
    .description('run the data checks (derived from the models and declared under checks:); exit 1 when an error-level check fails')
    .option('-s, --select <names>', 'only the checks on these models, or on the models of these metrics (comma-separated)', list, [])
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json', 'junit']).default('table'))
    .option('--db <file>', "DuckDB database file (default: tally.yml's engine)")
    .addOption(new Option('--engine <type>', 'engine to use instead of the one in tally.yml').choices(['duckdb', 'postgres']))
    .option('--state <file>', "state store file (default: tally.yml's state, else .tally/state.duckdb)")
    .option('--no-save', 'do not keep the results in the state store')
    .option('--samples <n>', 'sample keys per failing check', whole, 5)
    .option('--timeout <ms>', 'stop a check after this many milliseconds', whole)
    .option('--progress', 'show progress on stderr even when it is not a terminal')
    .addOption(new Option('--now <instant>', 'measure freshness and future times against this instant (ISO, UTC)').hideHelp())
    .action(async (o: CheckFlags) => {
      const [{ runChecks, runFailed }, { formatJson, formatJunit, formatTable }, { openStateStore }, { defaultEngine, loadConfig, stateConfigOf }, { openEngine }, { loadProject }] = await Promise.all([
        import('../checks/runner.js'),
        import('../checks/report.js'),
        import('../checks/state.js'),
        import('../config.js'),
        import('../engines/open.js'),
        import('../project.js'),
      ]);
      const dir = projectDir();
      const project = loadProject(dir);
      const config = loadConfig(dir);
      const target: EngineConfig = o.db ? { type: 'duckdb', path: o.db } : o.engine && o.engine !== config.engine.type ? defaultEngine(o.engine) : config.engine;
      const now = o.now ? new Date(o.now) : undefined;
      if (now && Number.isNaN(now.getTime())) throw new InvalidArgumentError(`--now ${o.now}: not an ISO instant`);
      const engine = await openEngine(target);
      const progress = progressReporter('check', { forced: o.progress });
      let run;
      try {
        run = await runChecks(project.graph, engine, {
          select: o.select,
          now,
          sampleLimit: o.samples,
          timeoutMs: o.timeout,
          onProgress: (done, total, check) => check && progress.step(done, total, check.id),
        });
      } finally {
        progress.end();
        await engine.close();
      }
      if (o.save) {
        const store = openStateStore(o.state ? { type: 'duckdb', path: o.state } : stateConfigOf(config, dir));
        try {
          await store.saveRun(run);
        } finally {
          await store.close?.();
        }
      }
      process.stdout.write(o.format === 'json' ? formatJson(run) : o.format === 'junit' ? formatJunit(run) : formatTable(run));
      if (runFailed(run)) process.exitCode = 1;
    });
}
