/** `tally diff`: what a change to metrics/ does, for review. A thin command over src/review. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { EngineConfig } from '../config.js';
import { progressReporter } from './progress.js';

interface DiffFlags {
  data?: boolean;
  db?: string;
  format: 'text' | 'markdown';
  timeout?: number;
  progress?: boolean;
}

export function diffCommand(program: Command, projectDir: () => string): void {
  program
    .command('diff')
    .description('metrics added, removed and changed between two git revisions of metrics/, with the diff of their SQL')
    .argument('[base]', 'git revision to compare from (a branch, tag or commit)', 'HEAD')
    .argument('[head]', 'git revision to compare to (default: the working tree, uncommitted edits included)')
    .option('--data', 'also run both versions on the database and show how the numbers move')
    .option('--db <file>', "DuckDB database file for --data (default: tally.yml's engine, else .tally/demo.duckdb)")
    .option('--timeout <ms>', 'stop each query after this many milliseconds', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
      return n;
    })
    .option('--progress', 'with --data: show progress on stderr even when it is not a terminal')
    .addOption(new Option('-f, --format <format>', 'output format (markdown: for a pull request comment)').choices(['text', 'markdown']).default('text'))
    .addHelpText('after', '\nExamples:\n  tally diff                 uncommitted changes (HEAD → working tree)\n  tally diff main --data     this branch, edits included, against main, with the numbers\n  tally diff main HEAD -f markdown > report.md')
    .action(async (baseRev: string, headRev: string | undefined, o: DiffFlags) => {
      // Loaded when the command runs, so that `tally --help` stays fast.
      const [{ loadConfig }, { openEngine }, { compareNumbers, diffRevisions }, { formatMarkdown, formatText }, { loadRevision }, { dialectByName }] = await Promise.all([
        import('../config.js'),
        import('../engines/open.js'),
        import('../review/diff.js'),
        import('../review/report.js'),
        import('../review/revisions.js'),
        import('../sql/dialects/index.js'),
      ]);
      const dir = projectDir();
      const base = loadRevision(dir, baseRev);
      const head = loadRevision(dir, headRev);
      const config = loadConfig(dir);
      // The SQL is compared in the dialect the project compiles for (tally.yml's; DuckDB by default).
      const diff = diffRevisions(base, head, { dialect: dialectByName(config.dialect) });
      if (o.data && diff.changed.length) {
        const target: EngineConfig = o.db ? { type: 'duckdb', path: o.db } : config.engine;
        const engine = await openEngine(target);
        const progress = progressReporter('diff --data', { forced: o.progress });
        try {
          // One metric at a time, so that progress can say which one is being compared.
          for (const [i, change] of diff.changed.entries()) {
            progress.step(i, diff.changed.length, `comparing ${change.metric}`);
            await compareNumbers({ ...diff, changed: [change] }, base, head, engine, { timeoutMs: o.timeout });
          }
          progress.step(diff.changed.length, diff.changed.length, 'done');
        } finally {
          progress.end();
          await engine.close();
        }
      }
      process.stdout.write(o.format === 'markdown' ? formatMarkdown(diff) : formatText(diff));
    });
}
