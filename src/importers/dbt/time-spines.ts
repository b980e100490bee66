/**
 * Time spines from both places dbt keeps them: MetricFlow's `project_configuration` (`time_spines`
 * with custom granularities, and the legacy `time_spine_table_configurations`, which apply only to
 * grains no `time_spines` entry covers) and dbt ≥ 1.9 models with a `time_spine:` block.
 */
import { relation, substitute } from './semantic-models.js';
import type { TallyFile, TranslateOptions } from './translate.js';
import { type At, checkKeys, isObj, listOf, lower, type Obj, TALLY_GRAINS } from './walk.js';

/** A legacy time spine configuration, kept until every document is read (see Translator.finish). */
export interface LegacySpine {
  at: At;
  spine: Obj;
  file: string;
}

/** A manifest's project_configuration: its time spines into `out`, its legacy ones into `legacySpines`. */
export function projectConfiguration(options: TranslateOptions, legacySpines: LegacySpine[], value: unknown, at: At, out: TallyFile): void {
  if (!isObj(value)) return at.report('project_configuration is a mapping');
  checkKeys(value, at, ['time_spine_table_configurations', 'time_spines'], { metadata: 'not needed' });
  listOf(value.time_spines, at.sub('time_spines'), (s, sat) => {
    if (!isObj(s)) return void sat.report('a time spine is a mapping');
    checkKeys(s, sat, ['node_relation', 'primary_column', 'custom_granularities']);
    const pc = isObj(s.primary_column) ? s.primary_column : {};
    const grain = lower(pc.time_granularity);
    if (!grain || !TALLY_GRAINS.has(grain)) {
      sat.sub('primary_column', 'time_granularity').report(`skipped: Tally has no '${String(pc.time_granularity)}' grain, so it needs no time spine at that grain`, 'warning');
      return undefined;
    }
    const table = relation(options, s, sat);
    if (!table) return undefined;
    const spine: Obj = { table, column: pc.name, grain };
    const custom = listOf(s.custom_granularities, sat.sub('custom_granularities'), (c, cat) => {
      if (!isObj(c)) return void cat.report('a custom granularity has a name (and a column_name)');
      checkKeys(c, cat, ['name', 'column_name']);
      return { name: String(c.name).toLowerCase(), column: String(c.column_name ?? c.name) };
    });
    if (custom.length) spine.custom_granularities = custom;
    out.time_spines.push(spine);
    return spine;
  });
  listOf(value.time_spine_table_configurations, at.sub('time_spine_table_configurations'), (s, sat) => {
    if (!isObj(s)) return void sat.report('a time spine configuration is a mapping');
    checkKeys(s, sat, ['location', 'column_name', 'grain']);
    const grain = lower(s.grain);
    const absent = (['location', 'column_name', 'grain'] as const).filter((k) => typeof s[k] !== 'string' || s[k] === '');
    if (absent.length) return void sat.report(`a time spine configuration needs ${absent.join(', ')} (it has location, column_name and grain)`);
    if (!grain || !TALLY_GRAINS.has(grain)) return void sat.sub('grain').report(`'${String(s.grain)}' is not a grain; use one of ${[...TALLY_GRAINS].join(', ')}`);
    // A $variable without a value is reported by substitute, once.
    const table = substitute(options, String(s.location), sat.sub('location'));
    if (!table) return;
    const spine = { table, column: s.column_name, grain };
    legacySpines.push({ at: sat, spine, file: at.doc.file.relativePath });
    return spine;
  });
}

/** dbt ≥ 1.9 configures time spines on models: `time_spine: {standard_granularity_column: …}`. */
export function dbtModel(options: TranslateOptions, value: unknown, at: At, out: TallyFile): void {
  if (!isObj(value) || !isObj(value.time_spine)) return;
  const ts = value.time_spine;
  const tat = at.sub('time_spine');
  checkKeys(ts, tat, ['standard_granularity_column', 'custom_granularities']);
  const column = String(ts.standard_granularity_column);
  const columns = Array.isArray(value.columns) ? value.columns.filter(isObj) : [];
  const declared = columns.find((c) => c.name === column);
  const grain = lower(declared?.granularity) ?? 'day';
  if (!TALLY_GRAINS.has(grain)) return tat.report(`skipped: Tally has no '${grain}' grain`, 'warning');
  const spine: Obj = { table: options.schema ? `${options.schema}.${String(value.name)}` : String(value.name), column, grain };
  const custom = listOf(ts.custom_granularities, tat.sub('custom_granularities'), (c, cat) => {
    if (!isObj(c)) return void cat.report('a custom granularity has a name (and a column_name)');
    return { name: String(c.name).toLowerCase(), column: String(c.column_name ?? c.name) };
  });
  if (custom.length) spine.custom_granularities = custom;
  out.time_spines.push(spine);
}
