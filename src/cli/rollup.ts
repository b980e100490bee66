/**
 * `tally rollup build [NAME…] [--full]` builds or refreshes rollups (progress on stderr, a summary
 * on stdout), and `tally rollup status [NAME…]` says for each whether it is built and current:
 * when it was built, from which definitions version, its partitions and rows, and why it is stale.
 * Thin over src/rollups; the library loads only when a command runs.
 */
import { existsSync } from 'node:fs';
import { type Command, Option } from 'commander';
import type { EngineConfig } from '../config.js';
import type { Engine } from '../engines/engine.js';
import type { Project } from '../project.js';
import type { RollupStore } from '../rollups/store.js';
import type { RollupStoreConfig } from '../rollups/store-config.js';
import { progressReporter } from './progress.js';

interface RollupFlags {
  db?: string;
  engine?: EngineConfig['type'];
  store?: string;
  full?: boolean;
  progress?: boolean;
  json?: boolean;
}

export function rollupCommand(program: Command, projectDir: () => string): void {
  const rollup = program.command('rollup').description('build rollups (pre-aggregated tables that answer dashboards) and show their status');
  const common = (cmd: Command): Command =>
    cmd
      .option('--db <file>', "DuckDB database file to build from (default: tally.yml's engine)")
      .addOption(new Option('--engine <type>', 'engine to use instead of the one in tally.yml').choices(['duckdb', 'postgres']))
      .option('--store <file>', "rollup store file (default: tally.yml's rollups, else .tally/rollups.duckdb)");

  common(rollup.command('build').argument('[names...]', 'rollups to build (default: all)'))
    .description('build or refresh rollups: changed and trailing partitions, or all with --full or when their definitions changed')
    .option('--full', 'rebuild every partition')
    .option('--progress', 'show progress on stderr even when it is not a terminal')
    .action(async (names: string[], o: RollupFlags) => {
      const { buildRollups } = await import('../rollups/build.js');
      await withStore(projectDir(), o, true, async ({ project, engine, store, source }) => {
        const progress = progressReporter('rollup build', { forced: o.progress });
        let records;
        try {
          records = await buildRollups(project, engine, {
            source,
            store,
            ...(names.length ? { names } : {}),
            full: o.full,
            onProgress: (e) => {
              if (e.kind === 'partition') progress.step(e.index, e.total, `${e.rollup} ${e.partition} ${e.action === 'build' ? `built (${e.reason})` : e.action === 'keep' ? 'kept' : 'dropped'}`);
              else if (e.kind === 'start') progress.step(0, e.partitions, `${e.rollup}: ${e.full ? `full build, ${e.reason}` : 'refresh'}`);
            },
          });
        } finally {
          progress.end();
        }
        for (const r of records) {
          const rows = r.partitions.reduce((n, p) => n + p.rows, 0);
          process.stdout.write(`${r.name}: ${r.partitions.length} partitions, ${rows} rows, covered ${r.coveredFrom ? `[${r.coveredFrom}, ${r.coveredTo})` : '-'} (built ${r.builtAt}, fingerprint ${r.fingerprint})\n`);
        }
      });
    });

  common(rollup.command('status').argument('[names...]', 'rollups to show (default: all)'))
    .description('show each rollup: built at, definitions version, partitions, and whether it is current')
    .option('--json', 'print JSON')
    .action(async (names: string[], o: RollupFlags) => {
      const { rollupStatus } = await import('../rollups/status.js');
      await withStore(projectDir(), o, false, async ({ project, store }) => {
        const unknown = names.filter((n) => !project.graph.rollups.has(n));
        if (unknown.length) {
          const { unknownRollupError } = await import('../rollups/fingerprint.js');
          throw unknownRollupError(project.graph, unknown[0]);
        }
        const statuses = await rollupStatus(project, store, names.length ? names : undefined);
        if (o.json) {
          process.stdout.write(JSON.stringify(statuses.map(({ definition: _d, ...s }) => s), null, 2) + '\n');
          return;
        }
        const rows = statuses.map((s) => [
          s.name,
          s.built?.builtAt ?? '-',
          s.built?.version ?? '-',
          s.built ? String(s.built.partitions.length) : '-',
          s.built ? String(s.built.partitions.reduce((n, p) => n + p.rows, 0)) : '-',
          s.built?.coveredFrom ? `[${s.built.coveredFrom}, ${s.built.coveredTo})` : '-',
          s.stale ? `stale: ${s.reason}` : 'current',
        ]);
        process.stdout.write(table(['ROLLUP', 'BUILT AT', 'VERSION', 'PARTITIONS', 'ROWS', 'COVERED', 'STATUS'], rows));
        if (statuses.length === 0) process.stdout.write('no rollups defined (add them under `rollups:` in metrics/*.yml)\n');
      });
    });
}

/** Opens the project, the store and (when needed) the engine; closes them all afterwards. */
async function withStore(
  dir: string,
  o: RollupFlags,
  needEngine: boolean,
  work: (x: { project: Project; engine: Engine; store: RollupStore; source: string }) => Promise<void>,
): Promise<void> {
  const [{ loadProject }, { defaultEngine, loadConfig, rollupStoreConfigOf }, { openEngine }, { openRollupStore, openRollupStoreForBuild }, { databaseIdentity }] = await Promise.all([
    import('../project.js'),
    import('../config.js'),
    import('../engines/open.js'),
    import('../rollups/store.js'),
    import('../rollups/source.js'),
  ]);
  const project = loadProject(dir);
  const config = loadConfig(dir);
  const storeConfig: RollupStoreConfig = o.store ? { store: 'duckdb', path: o.store, schema: 'tally_rollups' } : rollupStoreConfigOf(config, dir);
  const target: EngineConfig = o.db ? { type: 'duckdb', path: o.db } : o.engine && o.engine !== config.engine.type ? defaultEngine(o.engine) : config.engine;
  const engine = needEngine || storeConfig.store === 'engine' ? await openEngine(target) : undefined;
  try {
    if (needEngine) {
      // A build writes a copy of the store and puts it in place at the end: a running server keeps
      // reading the previous one meanwhile, and a failed build leaves it as it was.
      const store = await openRollupStoreForBuild(storeConfig, engine);
      try {
        await work({ project, engine: engine ?? store.engine, store, source: databaseIdentity(target) });
      } catch (e) {
        await store.discard();
        throw e;
      }
      await store.publish();
      return;
    }
    // Reading never creates the store: without its file, nothing was built yet.
    const missing = storeConfig.store === 'duckdb' && storeConfig.path !== ':memory:' && !existsSync(storeConfig.path);
    const store = await openRollupStore(missing ? { ...storeConfig, path: ':memory:' } : storeConfig, engine, { readOnly: true });
    try {
      await work({ project, engine: engine ?? store.engine, store, source: databaseIdentity(target) });
    } finally {
      await store.close();
    }
  } finally {
    await engine?.close();
  }
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ') + '\n';
  return [header, ...rows].map(line).join('');
}
