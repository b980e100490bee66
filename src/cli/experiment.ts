/** `tally experiment list | readout NAME`: a thin command over src/experiments. */
import { type Command, Option } from 'commander';
import type { EngineConfig } from '../config.js';

interface ReadoutFlags {
  db?: string;
  format: 'table' | 'json' | 'markdown';
  timeout?: number;
}

export function experimentCommand(program: Command, projectDir: () => string): void {
  const experiment = program.command('experiment').description('A/B tests read on the project metrics (experiments: in metrics/*.yml)');
  experiment
    .command('list')
    .description('the experiments with their dates, variants and primary metrics')
    .action(async () => {
      const [{ loadProject }, { experimentsOf }] = await Promise.all([import('../project.js'), import('../experiments/validate.js')]);
      const project = loadProject(projectDir());
      const all = [...experimentsOf(project.graph).values()];
      if (all.length === 0) process.stdout.write('no experiments defined (add experiments: to metrics/*.yml)\n');
      for (const { def } of all) {
        process.stdout.write(`${def.name}  ${def.start} → ${def.end}  variants: ${Object.keys(def.split).join(', ')}  primary: ${def.primary_metrics.join(', ')}${def.owner ? `  owner: ${def.owner}` : ''}\n`);
      }
    });
  experiment
    .command('readout')
    .description('per-variant statistics, SRM check and the decision by the agreed criteria')
    .argument('<name>', 'experiment name')
    .option('--db <file>', "DuckDB database file (default: tally.yml's engine, else .tally/demo.duckdb)")
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json', 'markdown']).default('table'))
    .option('--timeout <ms>', 'stop the query after this many milliseconds', (v) => Number(v))
    .action(async (name: string, o: ReadoutFlags) => {
      const [{ loadConfig }, { openEngine }, { loadProject }, { readExperiment }, report] = await Promise.all([
        import('../config.js'),
        import('../engines/open.js'),
        import('../project.js'),
        import('../experiments/readout.js'),
        import('../experiments/report.js'),
      ]);
      const dir = projectDir();
      const project = loadProject(dir);
      const target: EngineConfig = o.db ? { type: 'duckdb', path: o.db } : loadConfig(dir).engine;
      const engine = await openEngine(target);
      try {
        const r = await readExperiment(project, engine, name, { timeoutMs: o.timeout });
        process.stdout.write(o.format === 'json' ? report.readoutJson(r) + '\n' : o.format === 'markdown' ? report.readoutMarkdown(r) : report.readoutTable(r));
      } finally {
        await engine.close();
      }
    });
}
