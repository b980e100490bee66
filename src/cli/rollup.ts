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
  verify?: boolean;
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
    .description("show each rollup: built at, definitions version, partitions, and whether it is current or stale (source rows changed since its build: the sources' freshness is compared when the database can be read)")
    .option('--json', 'print JSON')
    .option('--verify', "also recompute every partition's source fingerprint now (a scan of the sources) and keep what it finds for servers and queries")
    .action(async (names: string[], o: RollupFlags) => {
      const [{ rollupStatus }, verify, { definitionFingerprint, unknownRollupError }] = await Promise.all([import('../rollups/status.js'), import('../rollups/verify.js'), import('../rollups/fingerprint.js')]);
      await withStore(projectDir(), o, o.verify ? 'read' : 'try', async ({ project, store, base, checksFile, source }) => {
        const unknown = names.filter((n) => !project.graph.rollups.has(n));
        if (unknown.length) throw unknownRollupError(project.graph, unknown[0]);
        // What servers and `--verify` found before, then the sources' freshness now (one MAX per source model).
        const checks = verify.readChecks(checksFile);
        const verified: typeof checks = {};
        if (base) {
          for (const built of await store.list()) {
            const definition = project.graph.rollups.get(built.name);
            // A build from another database than the one opened here is not compared with it.
            if (!definition || (names.length && !names.includes(built.name)) || built.fingerprint !== definitionFingerprint(project.graph, built.name) || (built.source && built.source !== source)) continue;
            checks[built.name] = { ...checks[built.name], freshness: await verify.checkFreshness(project.graph, base, definition, built) };
            if (o.verify) verified[built.name] = { fingerprints: (checks[built.name].fingerprints = await verify.verifyFingerprints(project.graph, base, definition, built)) };
          }
        }
        if (checksFile && Object.keys(verified).length) verify.writeChecks(checksFile, verified);
        const statuses = await rollupStatus(project, store, names.length ? names : undefined, checks);
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
          s.staleness ? `freshness ${s.staleness.freshnessCheckedAt ?? 'not checked'}, fingerprints ${s.staleness.verifiedAt ?? 'not verified'}` : '-',
          s.stale ? `stale: ${s.reason}` : 'current',
        ]);
        process.stdout.write(table(['ROLLUP', 'BUILT AT', 'VERSION', 'PARTITIONS', 'ROWS', 'COVERED', 'CHECKED', 'STATUS'], rows));
        for (const s of statuses) for (const w of s.staleness?.warnings ?? []) process.stderr.write(`warning: ${s.name}: ${w}\n`);
        if (!base && statuses.some((s) => s.staleness)) process.stderr.write("note: the sources' freshness was not compared (the database could not be opened); pass --db FILE\n");
        if (statuses.length === 0) process.stdout.write('no rollups defined (add them under `rollups:` in metrics/*.yml)\n');
      });
    });
}

/**
 * Opens the project, the store and the engine of the base tables; closes them all afterwards.
 * `true`: a build (the engine, and the store opened for building); `false`: the store only (and
 * the engine when the store is in it); 'read' and 'try': the store for reading and the engine as
 * `base`, which must open ('read') or is left out when it cannot ('try'). `checksFile` keeps the
 * store's staleness checks.
 */
async function withStore(
  dir: string,
  o: RollupFlags,
  needEngine: boolean | 'read' | 'try',
  work: (x: { project: Project; engine: Engine; store: RollupStore; source: string; base?: Engine; checksFile?: string }) => Promise<void>,
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
  const engine =
    needEngine === true || needEngine === 'read' || storeConfig.store === 'engine'
      ? await openEngine(target)
      : needEngine === 'try'
        ? await openEngine(target).catch(() => undefined)
        : undefined;
  const { checksPathOf } = await import('../rollups/verify.js');
  const checksFile = checksPathOf(storeConfig, dir);
  try {
    if (needEngine === true) {
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
      await work({ project, engine: engine ?? store.engine, store, source: databaseIdentity(target), ...(engine ? { base: engine } : {}), ...(checksFile ? { checksFile } : {}) });
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
