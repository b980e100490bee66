/**
 * MetricFlow's integration cases (tests_metricflow/integration/test_cases/itest_*.yaml) and how
 * each becomes a Tally request: group-by names and objects become dotted references, the where
 * filter is rendered with MetricFlow's helpers and its Jinja references translated, the time
 * constraint becomes from/to.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { translateFilter, translateGroupByName } from '../../src/importers/dbt/index.js';
import type { RequestInput } from '../../src/index.js';
import { checkQueryContext } from './check-helpers.js';
import { renderJinja } from './jinja.js';

export interface GroupByObject {
  name: string;
  grain?: string;
  date_part?: string;
}

export interface IntegrationCase {
  file: string;
  name: string;
  description?: string;
  model: string;
  metrics?: string[];
  group_bys?: string[];
  group_by_objs?: GroupByObject[];
  where_filter?: string;
  time_constraint?: [string, string];
  order_bys?: string[];
  limit?: number;
  check_query: string;
  check_order?: boolean;
  allow_empty?: boolean;
  required_features?: string[];
  min_max_only?: boolean;
  apply_group_by?: boolean;
  saved_query_name?: string;
}

/** Test-case model → manifest directory (tests_metricflow/integration/test_configured_cases.py). */
export const MANIFESTS: Record<string, string> = {
  SIMPLE_MODEL: 'simple_manifest',
  SIMPLE_MODEL_NON_DS: 'non_sm_manifest',
  UNPARTITIONED_MULTI_HOP_JOIN_MODEL: 'multi_hop_join_manifest',
  PARTITIONED_MULTI_HOP_JOIN_MODEL: 'partitioned_multi_hop_join_manifest',
  EXTENDED_DATE_MODEL: 'extended_date_manifest',
  SCD_MODEL: 'scd_manifest',
};

export function readCases(dir: string): IntegrationCase[] {
  const out: IntegrationCase[] = [];
  for (const file of readdirSync(dir).filter((f) => /^itest_.*\.yaml$/.test(f)).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      const data = doc.toJS() as { integration_test?: Omit<IntegrationCase, 'file'> } | null;
      if (data?.integration_test) out.push({ file, ...data.integration_test });
    }
  }
  return out;
}

/** One group-by item as MetricFlow names its output column, with the Tally reference for it. */
export interface GroupByItem {
  /** MetricFlow's name as requested (`metric_time`, `listing__ds__month`, `metric_time__extract_dow`). */
  mfName: string;
  /** Whether MetricFlow adds the resolved grain to the column name (a time item named without one). */
  needsGrain: boolean;
  tallyRef: string;
}

const GRAINS = new Set(['millisecond', 'second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year']);

export function groupByItems(c: IntegrationCase): GroupByItem[] {
  const items: GroupByItem[] = [];
  for (const name of c.group_bys ?? []) items.push({ mfName: name, needsGrain: !hasGrain(name), tallyRef: translateGroupByName(name) });
  for (const o of c.group_by_objs ?? []) {
    if (o.date_part) {
      items.push({ mfName: `${o.name}__extract_${o.date_part}`, needsGrain: false, tallyRef: `${translateGroupByName(o.name)}.extract_${o.date_part}` });
    } else if (o.grain) {
      items.push({ mfName: `${o.name}__${o.grain}`, needsGrain: false, tallyRef: `${translateGroupByName(o.name)}.${o.grain}` });
    } else items.push({ mfName: o.name, needsGrain: !hasGrain(o.name), tallyRef: translateGroupByName(o.name) });
  }
  return items;
}

function hasGrain(name: string): boolean {
  const last = name.split('__').pop() ?? '';
  return GRAINS.has(last) || last === 'alien_day';
}

export function toRequest(c: IntegrationCase, sourceSchema: string): RequestInput {
  const items = groupByItems(c);
  const where = c.where_filter ? translateFilter(renderJinja(c.where_filter, checkQueryContext(sourceSchema))) : undefined;
  const orderBy = (c.order_bys ?? []).map((o) => {
    const desc = o.startsWith('-');
    const name = desc ? o.slice(1) : o;
    return `${desc ? '-' : ''}${translateGroupByName(name)}`;
  });
  return {
    metrics: c.metrics ?? [],
    groupBy: items.map((i) => i.tallyRef),
    where,
    from: c.time_constraint?.[0],
    to: c.time_constraint?.[1],
    orderBy,
    limit: c.limit,
    savedQuery: c.saved_query_name,
    minMax: c.min_max_only === true,
    distinct: c.apply_group_by !== false,
  };
}

export function renderCheckQuery(c: IntegrationCase, sourceSchema: string): string {
  return renderJinja(c.check_query, checkQueryContext(sourceSchema));
}
