/** `tally serve`: the GraphQL API and catalog over an engine, with data checks and rollup refresh on their schedules. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { DEFAULT_DUCKDB_PATH as DEFAULT_DB } from '../defaults.js';
import { chosenEngine, type EngineFlags, engineOption, lazy, positive } from './common.js';

/** Adds `serve` to the program; `projectDir` gives the project directory chosen by --project. */
export function serveCommand(program: Command, projectDir: () => string): void {
  program
    .command('serve')
    .description('serve the GraphQL API (with GraphiQL) over the DuckDB database, seeding the demo data on first run')
    .option('--port <n>', 'port', (v) => Number(v), 4000)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--db <file>', `DuckDB database file (default: tally.yml's engine, else ${DEFAULT_DB})`)
    .addOption(engineOption())
    .option('--watch', 'reload the definitions when metrics/ changes')
    .option('--timeout <ms>', "stop a query after this many milliseconds (default: tally.yml's limits.query_timeout_ms, else 30000)", positive)
    .addOption(new Option('--log-level <level>', 'least severe log lines written (JSON lines; readable when stdout is a terminal)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'))
    .action(async (o: EngineFlags & { port: number; host: string; watch?: boolean; timeout?: number; logLevel: string }) => {
      const [{ loadConfig }, { Authenticator }, { seedDemoDatabase }, { openEngine }, { ReopeningEngine }, { TallyServer }, { DEFAULT_LIMITS, engineLimitsFromConfig, limitsFromConfig }, { createLogger }] = await Promise.all([
        lazy.config(),
        lazy.authenticate(),
        lazy.seedDemo(),
        lazy.engines(),
        lazy.reopening(),
        lazy.server(),
        lazy.limits(),
        lazy.log(),
      ]);
      const logger = createLogger({ level: o.logLevel });
      const target = await chosenEngine(o, projectDir);
      const config = loadConfig(projectDir());
      // Without tally.yml this is the demo: open to anyone who can reach it, and it says so.
      const auth = config.file && config.auth ? Authenticator.fromConfig(config.auth) : undefined;
      if (target.type === 'duckdb' && !existsSync(target.path) && resolve(target.path) === resolve(DEFAULT_DB)) {
        logger.info(`creating the demo data in ${target.path} (first run only)…`);
        const summary = await seedDemoDatabase(target.path, {});
        logger.info({ tables: summary.tables }, `seeded ${Object.entries(summary.tables).map(([t, n]) => `${t}=${n}`).join(' ')}`);
      }
      const limits = limitsFromConfig(config.limits);
      // One DuckDB connection per engine slot, so that concurrent callers run in parallel.
      const connections = limits.maxConcurrentQueries ?? DEFAULT_LIMITS.maxConcurrentQueries;
      const engineLimits = engineLimitsFromConfig(config.limits);
      // DuckDB is opened again after a failure (a file that became unreadable) and when its file is
      // replaced (tally seed renames a new one into place); Postgres's pool reconnects.
      const engine =
        target.type === 'duckdb'
          ? await ReopeningEngine.open(() => openEngine(target, { connections, ...engineLimits }), { file: target.path })
          : await openEngine(target);
      const [{ openStateStore }, { stateConfigOf }, { CheckScheduler }] = await Promise.all([lazy.state(), lazy.config(), lazy.schedule()]);
      const stateStore = openStateStore(stateConfigOf(config, projectDir()));
      // Answers come from built rollups where they provably equal the base answer (src/rollups/route.ts).
      const { openServedRollupStore, databaseIdentity } = await lazy.rollupSource();
      // Staleness checks of built rollups (src/rollups/verify.ts), kept beside the store for `tally rollup status`.
      const { SourceChecks, checksPathOf } = await import('../rollups/verify.js');
      const { rollupStoreConfigOf } = await lazy.config();
      const rollupChecks = new SourceChecks(checksPathOf(rollupStoreConfigOf(config, projectDir()), projectDir()));
      const rollupStore = await openServedRollupStore(projectDir(), engine, rollupChecks);
      // Data checks on tally.yml's schedule and after a --watch reload (src/checks/schedule.ts).
      let scheduler: InstanceType<typeof CheckScheduler> | undefined;
      const server = new TallyServer({
        projectDir: projectDir(), engine, watch: o.watch, timeoutMs: o.timeout, auth, limits, logger, corsOrigins: config.corsOrigins, stateStore, rollupStore, database: databaseIdentity(target),
        onReload: () => {
          void scheduler?.runNow('definitions reloaded');
          try {
            rollupScheduler.restart();
          } catch (e) {
            // A schedule name tally.yml does not define: the reloaded rollups are not refreshed until fixed.
            logger.error(`rollups are not refreshed: ${(e as Error).message}`);
          }
        },
      });
      scheduler = new CheckScheduler({ schedule: config.checks?.schedule, timeZone: config.checks?.timeZone, graph: () => server.project.graph, engine, store: stateStore, onRun: () => server.dataHealth.clear(), log: (l) => logger.info(l) });
      scheduler.start();
      if (config.checks?.schedule) logger.info(`data checks run on the schedule '${config.checks.schedule}'; next at ${scheduler.nextRun()?.toISOString() ?? 'never'}`);
      // Rollups refreshed on their schedules and when their sources' freshness moves (src/rollups/schedule.ts).
      // Each refresh publishes a new store file; the served store reopens it when the file changes.
      const { RollupScheduler } = await lazy.rollupSchedule();
      const rollupScheduler: InstanceType<typeof RollupScheduler> = new RollupScheduler({
        project: () => server.project,
        engine,
        schedules: config.rollupSchedules,
        records: () => rollupStore.list(),
        source: databaseIdentity(target),
        checks: rollupChecks,
        // A refresh by this server is answered from at once (the next request reads the new records).
        onBuilt: () => rollupStore.changed(),
        log: (l) => logger.info(l),
        onProbe: (probes) => logger.debug(`rollup freshness probe: ${probes.map((p) => `${p.rollup}: ${p.reason}`).join('; ') || 'no rollup refreshed on freshness'}`),
      });
      // Staleness is known from the start, not only after the first tick.
      void rollupScheduler.observe();
      if (rollupScheduler.restart()) logger.info(`rollups are refreshed on their schedules and when their sources' freshness moves, and checked for stale ranges (freshness every minute, partition source fingerprints every 10 minutes); next look at ${rollupScheduler.nextRun()?.toISOString() ?? 'never'}`);
      const url = await server.listen(o.port, o.host);
      const { graph, version } = server.project;
      logger.info({ url, version, metrics: graph.metrics.size }, `Tally serves ${graph.metrics.size} metrics (definitions ${version}) at ${url}`);
      logger.info(`Metric catalog: ${url.replace(/graphql$/, '')}`);
      logger.info(
        auth
          ? `Open the API in a browser for GraphiQL. ${auth.describe()}`
          : 'Open the API in a browser for GraphiQL. No tally.yml, so no authentication: anyone who can reach this address may query every metric (access policies are not applied). Add an auth section to tally.yml to require API keys or tokens.',
      );
      // Stopping cancels running statements (the server's close interrupts them) and exits within
      // seconds even if something hangs.
      const stop = async (signal: string): Promise<void> => {
        logger.info(`${signal}: stopping`);
        setTimeout(() => process.exit(0), 5_000).unref();
        scheduler?.stop();
        rollupScheduler.shutdown();
        await server.close();
        await engine.close();
        logger.info('stopped: every statement cancelled, the database closed');
        logger.flush();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    });
}
