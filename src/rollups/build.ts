/**
 * Building rollups: every partition (a period of the rollup's `partition` grain) is computed on
 * the engine by SQL the planner writes — the measures' parts by metric_time at the rollup's grain
 * and its dimensions (src/planner/lower/parts.ts), and the finished metrics by the ordinary
 * compile path, both over the partition's range — and its rows replace the partition's rows in
 * the rollup store. A build record (BuiltRollup) says what was built from which definitions.
 *
 * Refresh is incremental: a planner-compiled query gives each partition's source fingerprint
 * (per measure: rows read and the measure's parts, at the partition grain); partitions whose
 * fingerprint changed, new ones, and the newest `refresh.trailing` are rebuilt; the rest are kept.
 * A changed definition fingerprint (src/rollups/fingerprint.ts) or `full` rebuilds everything.
 * Known limit: a change in a joined dimension table (a user's country) that changes no measure
 * row is only picked up by the trailing partitions or a full build.
 */
import { createHash } from 'node:crypto';
import { compileRequest } from '../compile.js';
import { loadConfig, rollupStoreConfigOf } from '../config.js';
import type { SemanticGraph } from '../definitions/graph.js';
import { GRAIN_ORDER, type Grain } from '../definitions/schema.js';
import type { Cell, Engine, ResultSet } from '../engines/engine.js';
import { TallyError } from '../errors.js';
import { lowerMeasureParts, type PartColumn } from '../planner/lower/index.js';
import { buildPlan } from '../planner/plan.js';
import type { Project } from '../project.js';
import { parseRequest } from '../query/request.js';
import { add, formatTime, parseTime } from '../query/time.js';
import { renderStatement } from '../sql/render.js';
import { definitionFingerprint, unknownRollupError } from './fingerprint.js';
import { changeReach, measureSourceFreshness } from './freshness.js';
import { leafMeasuresOf } from '../definitions/leaves.js';
import { openRollupStoreForBuild, type RollupStore, type StoreColumn, storeType } from './store.js';
import { type BuiltRollup, finishedMetricColumn, finishedPresenceColumn, measurePartColumn, type RollupDefinition, rollupColumnOf, rollupTimeColumn } from './types.js';

/** What a build reports as it goes (the CLI prints it on stderr; tests assert what was rebuilt). */
export type BuildEvent =
  | { kind: 'start'; rollup: string; full: boolean; reason: string; partitions: number }
  /** One partition: `build` (computed and stored), `keep` (unchanged), `drop` (its source rows are gone). */
  | { kind: 'partition'; rollup: string; partition: string; action: 'build' | 'keep' | 'drop'; reason: string; index: number; total: number; rows?: number }
  | { kind: 'done'; rollup: string; record: BuiltRollup };

export interface BuildOptions {
  /** Rollups to build (all when absent); an unknown name is an error with the nearest suggested. */
  names?: string[];
  /** Rebuild every partition, whatever changed. */
  full?: boolean;
  onProgress?: (event: BuildEvent) => void;
  /**
   * The store to build into (written in place); when absent, the project's (tally.yml `rollups:`),
   * opened for a build and published when every rollup is built (see openRollupStoreForBuild).
   */
  store?: RollupStore;
  /** The clock for build records (tests). */
  now?: () => Date;
  /** The database the engine reads, recorded so that requests about another one never use the build (source.ts databaseIdentity). */
  source?: string;
}

/**
 * Builds (or refreshes) the project's rollups on `engine` into the rollup store and returns their
 * build records. Errors: UNKNOWN rollup names (INVALID_REQUEST), engine errors as the engine raises them.
 */
export async function buildRollups(project: Project, engine: Engine, options: BuildOptions = {}): Promise<BuiltRollup[]> {
  const graph = project.graph;
  const names = options.names ?? [...graph.rollups.keys()];
  for (const name of names) {
    if (!graph.rollups.has(name)) throw unknownRollupError(graph, name);
  }
  if (options.store) return buildAll(project, engine, options.store, names, options);
  const store = await openRollupStoreForBuild(rollupStoreConfigOf(loadConfig(project.dir), project.dir), engine);
  let records: BuiltRollup[];
  try {
    records = await buildAll(project, engine, store, names, options);
  } catch (e) {
    await store.discard();
    throw e;
  }
  await store.publish();
  return records;
}

async function buildAll(project: Project, engine: Engine, store: RollupStore, names: string[], options: BuildOptions): Promise<BuiltRollup[]> {
  const records: BuiltRollup[] = [];
  for (const name of names) records.push(await buildOne(project, engine, store, project.graph.rollups.get(name) as RollupDefinition, options));
  return records;
}

/** The table a rollup is kept in. */
export function rollupTable(store: Pick<RollupStore, 'schema'>, name: string): string {
  return `${store.schema}.${name}`;
}

/** A partition of the source: its first bucket (wall-clock, ISO) and fingerprint. */
export interface SourcePartition {
  start: string;
  end: string;
  fingerprint: string;
}

async function buildOne(project: Project, engine: Engine, store: RollupStore, rollup: RollupDefinition, options: BuildOptions): Promise<BuiltRollup> {
  const graph = project.graph;
  const now = options.now ?? (() => new Date());
  const emit = options.onProgress ?? (() => undefined);
  const fingerprint = definitionFingerprint(graph, rollup.name);
  const table = rollupTable(store, rollup.name);
  const previous = await store.get(rollup.name);
  const existing = await store.tableColumns(table);
  // Measured before the source rows are read: rows that arrive during the build move it again.
  const sourceFreshness = await measureSourceFreshness(graph, engine, rollup);
  const sources = await sourcePartitions(graph, engine, rollup);

  const reason = options.full
    ? 'a full build was asked for'
    : !previous
      ? 'never built'
      : previous.fingerprint !== fingerprint
        ? `the definitions changed (fingerprint ${previous.fingerprint} → ${fingerprint})`
        : !existing
          ? 'its table is missing from the store'
          : undefined;
  const full = reason !== undefined;
  emit({ kind: 'start', rollup: rollup.name, full, reason: reason ?? 'refresh: changed and trailing partitions', partitions: sources.length });
  if (full) await store.drop(rollup.name, table);
  let columns = full ? undefined : existing;
  let tableReady = !full && existing !== undefined;

  const kept = new Map((full ? [] : (previous?.partitions ?? [])).map((p) => [p.start, p]));
  const trailing = new Set(sources.slice(Math.max(0, sources.length - rollup.refresh.trailingPartitions)).map((p) => p.start));
  // A changed partition's rows are also read by later partitions' windows (or all, for conversions): those are rebuilt too (freshness.ts changeReach).
  const reach = changeReach(graph, rollup);
  const firstChange = [...sources.filter((s) => kept.has(s.start) && kept.get(s.start)?.sourceFingerprint !== s.fingerprint).map((s) => s.start), ...[...kept.keys()].filter((start) => !sources.some((s) => s.start === start))].sort()[0];
  const reached = (start: string): boolean => firstChange !== undefined && (reach === 'all' || (reach === 'onward' && start > firstChange));
  const partitions: BuiltRollup['partitions'] = [];
  let index = 0;
  const total = sources.length + [...kept.keys()].filter((start) => !sources.some((s) => s.start === start)).length;
  for (const source of sources) {
    index += 1;
    const before = kept.get(source.start);
    const why = full ? 'full build' : !before ? 'new partition' : before.sourceFingerprint !== source.fingerprint ? 'source rows changed' : reached(source.start) ? `a finished window or conversion reads the changed partition ${firstChange}` : trailing.has(source.start) ? `one of the newest ${rollup.refresh.trailingPartitions}` : undefined;
    if (!why && before) {
      partitions.push(before);
      emit({ kind: 'partition', rollup: rollup.name, partition: source.start, action: 'keep', reason: 'unchanged', index, total });
      continue;
    }
    const { columns: computed, rows } = await partitionRows(graph, engine, store, rollup, source);
    columns ??= computed;
    if (!columns.some((c) => c.name === rollupTimeColumn(rollup.grain)) || columns.length !== computed.length) {
      throw new TallyError('INVALID_REQUEST', `rollup '${rollup.name}': its stored table does not match its definition; rebuild it with --full`);
    }
    if (!tableReady) {
      await store.createTable(table, columns);
      tableReady = true;
    }
    await store.replacePartition(table, rollupTimeColumn(rollup.grain), { start: source.start, end: source.end }, columns, rows);
    const builtAt = now().toISOString();
    partitions.push({ start: source.start, rows: rows.length, sourceFingerprint: source.fingerprint, builtAt });
    emit({ kind: 'partition', rollup: rollup.name, partition: source.start, action: 'build', reason: why ?? 'rebuilt', index, total, rows: rows.length });
  }
  // Partitions whose source rows are all gone: their rows go too.
  for (const [start, before] of kept) {
    if (sources.some((s) => s.start === start) || !columns) continue;
    index += 1;
    await store.replacePartition(table, rollupTimeColumn(rollup.grain), { start, end: partitionEnd(start, rollup.partition) }, columns, []);
    emit({ kind: 'partition', rollup: rollup.name, partition: before.start, action: 'drop', reason: 'no source rows any more', index, total });
  }
  if (!tableReady) {
    // No source rows at all: an empty table of the right shape, so that the rollup can be read.
    const start = bucketText(new Date(0), rollup.partition);
    const shape = await partitionRows(graph, engine, store, rollup, { start, end: partitionEnd(start, rollup.partition), fingerprint: '' });
    await store.createTable(table, shape.columns);
  }
  const record: BuiltRollup = {
    name: rollup.name,
    table,
    fingerprint,
    version: graph.version,
    ...(project.commit ? { commit: project.commit } : {}),
    builtAt: now().toISOString(),
    ...(options.source ? { source: options.source } : {}),
    grain: rollup.grain,
    timeZone: rollup.timeZone,
    dimensions: rollup.dimensions,
    measures: rollup.measures,
    finishedMetrics: rollup.finishedMetrics,
    ...(sources.length ? { coveredFrom: sources[0].start, coveredTo: sources[sources.length - 1].end } : {}),
    partitions,
    sourceFreshness,
  };
  await store.saveRecord(record);
  emit({ kind: 'done', rollup: rollup.name, record });
  return record;
}

/** The wall-clock text of a bucket start: a date for whole days and coarser, else a timestamp. */
function bucketText(date: Date, grain: Grain): string {
  return GRAIN_ORDER[grain] >= GRAIN_ORDER.day ? date.toISOString().slice(0, 10) : formatTime(date);
}

function partitionEnd(start: string, partition: Grain): string {
  return bucketText(add(parseTime(start, 'partition'), 1, partition), partition);
}

/** The group-by references of a rollup's rows: metric_time at its grain, then its dimensions. */
export function rollupKeys(rollup: Pick<RollupDefinition, 'grain' | 'dimensions'>): string[] {
  return [`metric_time.${rollup.grain}`, ...rollup.dimensions];
}

/**
 * The partitions that hold source rows, oldest first, each with a fingerprint of its rows: per
 * measure the rollup reads, the rows read and its parts (or, without parts, its least and
 * greatest value), at the partition grain, computed by the planner like any other request.
 */
export async function sourcePartitions(graph: SemanticGraph, engine: Engine, rollup: RollupDefinition): Promise<SourcePartition[]> {
  const measures = [...new Set([...rollup.measures.map((m) => graph.measures.get(m.name)), ...rollup.finishedMetrics.flatMap((m) => leafMeasuresOf(graph, m))])].filter((m) => m !== undefined);
  const columns: PartColumn[] = measures.flatMap((measure, i) => {
    const parts = rollup.measures.find((m) => m.name === measure.name)?.parts ?? ['min', 'max'];
    return [{ measure, part: 'rows' as const, alias: `f${i}_rows` }, ...parts.map((part) => ({ measure, part, alias: `f${i}_${part}` }))];
  });
  const plan = buildPlan(graph, parseRequest({ groupBy: [`metric_time.${rollup.partition}`], timeZone: rollup.timeZone }));
  const sql = renderStatement(lowerMeasureParts(graph, plan, columns, { sortedAggregatesApart: engine.dialect.sortedAggregatesApart }), engine.dialect);
  const result = await engine.query(sql);
  const found = new Map(
    result.rows
      .filter((row) => row[0] !== null)
      .map((row) => [bucketText(parseTime(String(row[0]).slice(0, 19), 'partition'), rollup.partition), createHash('sha256').update(cellsText(row.slice(1))).digest('hex').slice(0, 16)] as const),
  );
  const starts = [...found.keys()].sort();
  // Every partition from the first to the last, also those without rows: an offset or a window
  // gives finished metrics values there too.
  const out: SourcePartition[] = [];
  for (let start = starts[0]; start !== undefined && start <= starts[starts.length - 1]; start = partitionEnd(start, rollup.partition)) {
    out.push({ start, end: partitionEnd(start, rollup.partition), fingerprint: found.get(start) ?? 'no rows' });
  }
  return out;
}

function cellsText(cells: Cell[]): string {
  return JSON.stringify(cells.map((c) => (typeof c === 'bigint' ? `${c}n` : c)));
}

/**
 * A partition's rows: the parts by the rollup's keys, and the finished metrics by the same keys
 * (the ordinary compile path), put side by side on the keys. The range is the partition's:
 * `from` its first bucket, `to` its last second (ranges include `to`'s period).
 */
async function partitionRows(graph: SemanticGraph, engine: Engine, store: RollupStore, rollup: RollupDefinition, partition: SourcePartition): Promise<{ columns: StoreColumn[]; rows: Cell[][] }> {
  const keys = rollupKeys(rollup);
  const range = { from: partition.start, to: formatTime(new Date(parseTime(partition.end, 'partition').getTime() - 1000)), timeZone: rollup.timeZone };
  const results: { result: ResultSet; names: string[] }[] = [];
  const partColumns: PartColumn[] = rollup.measures.flatMap((m) => {
    const measure = graph.measures.get(m.name);
    if (!measure) throw new TallyError('INVALID_DEFINITION', `rollup '${rollup.name}' keeps unknown measure '${m.name}'`);
    return m.parts.map((part) => ({ measure, part, alias: measurePartColumn(m.name, part) }));
  });
  if (partColumns.length) {
    const plan = buildPlan(graph, parseRequest({ groupBy: keys, ...range }));
    const sql = renderStatement(lowerMeasureParts(graph, plan, partColumns, { sortedAggregatesApart: engine.dialect.sortedAggregatesApart }), engine.dialect);
    results.push({ result: await engine.query(sql), names: [...keys.map(rollupColumnOf), ...partColumns.map((c) => c.alias)] });
  }
  // Each finished metric asked alone, as a request of it alone would be: its rows are exactly
  // the keys its own answer has (marked present), with its own value.
  for (const metric of rollup.finishedMetrics) {
    const compiled = compileRequest(graph, { metrics: [metric], groupBy: keys, ...range }, { dialect: engine.dialect });
    const result = await engine.query(compiled.sql);
    const present: ResultSet = {
      columns: [...result.columns, { name: finishedPresenceColumn(metric), type: 'BOOLEAN' }],
      rows: result.rows.map((r) => [...r, true]),
    };
    results.push({ result: present, names: [...keys.map(rollupColumnOf), finishedMetricColumn(metric), finishedPresenceColumn(metric)] });
  }
  // Side by side on the keys: each result has one row per key combination.
  const columns: StoreColumn[] = [];
  const byKey = new Map<string, Cell[]>();
  const width = keys.length;
  let offset = width;
  for (const { result, names } of results) {
    names.forEach((name, i) => {
      if (i < width && columns.length >= width) return;
      const values = result.rows.map((r) => r[i]);
      columns.push({ name, type: storeType(engine.name, store.engine.name, result.columns[i], values) });
    });
    const valueCount = names.length - width;
    for (const row of result.rows) {
      const key = cellsText(row.slice(0, width));
      let merged = byKey.get(key);
      if (!merged) {
        merged = [...row.slice(0, width)];
        byKey.set(key, merged);
      }
      for (let j = 0; j < valueCount; j++) merged[offset + j] = row[width + j];
    }
    offset += valueCount;
  }
  const rows = [...byKey.values()].map((row) => Array.from({ length: columns.length }, (_, j) => row[j] ?? null));
  return { columns, rows };
}
