/**
 * `tally import dbt <dir>`: dbt semantic YAML → Tally definitions in metrics/. Nothing is written
 * when anything cannot be mapped or the result does not validate; every problem is reported as
 * file:line:col.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { DefinitionError, formatProblem } from '../errors.js';

interface ImportFlags {
  out: string;
  var: Record<string, string>;
  schema?: string;
  dryRun?: boolean;
}

const variable = (v: string, vars: Record<string, string>): Record<string, string> => {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(v);
  if (!m) throw new InvalidArgumentError("expected name=value, e.g. source_schema=analytics");
  return { ...vars, [m[1]]: m[2] };
};

export function importCommand(program: Command): void {
  const importer = program.command('import').description('import definitions from another semantic layer');
  importer
    .command('dbt')
    .description('read dbt semantic YAML (semantic models, metrics, saved queries, time spines) and write Tally definitions')
    .argument('<dir>', 'directory of dbt YAML files (searched recursively)')
    .option('--out <dir>', 'where to write the Tally files (one per dbt file)', 'metrics')
    .option('--var <name=value>', 'value for a $name placeholder in relations (repeatable)', variable, {})
    .option('--schema <name>', "schema to put in front of ref('model') relations")
    .option('--dry-run', 'check and report, write nothing')
    .action(async (dir: string, o: ImportFlags) => {
      // Loaded when the command runs, so that `tally --help` stays fast.
      const { importDbtDirectory, projectFromImport } = await import('../importers/dbt/index.js');
      const imported = importDbtDirectory(resolve(dir), { vars: o.var, schema: o.schema });
      for (const p of imported.problems) console.error(`${formatProblem(p)}${p.severity === 'warning' ? ' (warning)' : ''}`);
      const errors = imported.problems.filter((p) => p.severity === 'error');
      if (errors.length) {
        console.error(`${errors.length} problem${errors.length === 1 ? '' : 's'} found; nothing written`);
        process.exit(1);
      }
      try {
        const project = projectFromImport(imported);
        const g = project.graph;
        const summary = `${g.models.size} semantic models, ${g.measures.size} measures, ${g.metrics.size} metrics, ${g.savedQueries.size} saved queries, ${g.timeSpines.size} time spines`;
        if (o.dryRun) {
          console.log(`ok: would write ${imported.files.length} files to ${o.out}/ (${summary})`);
          return;
        }
        for (const f of imported.files) {
          const path = join(o.out, f.path);
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, f.text);
        }
        console.log(`wrote ${imported.files.length} files to ${o.out}/ (${summary}); check them with: npx tally validate`);
      } catch (e) {
        if (!(e instanceof DefinitionError)) throw e;
        console.error(e.problems.map((p) => `${join(o.out, p.file)}:${p.line}:${p.col}: ${p.message}`).join('\n'));
        console.error('the imported definitions do not validate; nothing written');
        process.exit(1);
      }
    });
}
