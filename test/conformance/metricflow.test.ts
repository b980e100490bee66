/**
 * MetricFlow conformance: every integration case of dbt MetricFlow
 * (../shared/reference/metricflow, Apache-2.0) runs through Tally against the same fixture tables,
 * and its answer is compared with the case's hand-written check query. Each case's manifest is
 * imported with Tally's dbt importer; its request (metrics, group-bys, where filter, time
 * constraint, order, limit) is translated to a Tally request.
 *
 * The cases run sequentially on one DuckDB instance that holds every fixture table in one schema.
 * A case counts as passed, failed (with the reason) or skipped (only for a reason in skips.ts); the
 * summary per file and in total is printed. The failing cases must be exactly the expected
 * deviations of deviations.ts, each of which is checked against its own hand-written truth: a
 * newly failing case and a newly passing deviation both fail the suite.
 *
 * Without the reference data (a fresh clone has no ../shared) the suite is skipped with the reason
 * printed; TALLY_METRICFLOW_REFERENCE points it at another copy.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDbtProject } from '../../src/importers/dbt/index.js';
import { compileRequest, DuckDBEngine, type Project } from '../../src/index.js';
import type { SemanticGraph } from '../../src/definitions/graph.js';
import { resolveFrom } from '../../src/planner/joins.js';
import { type GroupKey, leafMeasures } from '../../src/planner/plan.js';
import { timeSpecText } from '../../src/query/references.js';
import { groupByItems, type IntegrationCase, MANIFESTS, readCases, renderCheckQuery, toRequest } from './cases.js';
import { checkQueryContext } from './check-helpers.js';
import { renderJinja } from './jinja.js';
import { compareTables, rowsMissingFrom, rowTexts, type Table, tableOf } from './compare.js';
import { EXPECTED_DEVIATIONS } from './deviations.js';
import { loadSnapshots } from './fixtures.js';
import { REFERENCE, REFERENCE_MISSING } from './reference.js';
import { skipReason } from './skips.js';

const SCHEMA = 'mf_fixtures';

const CASES_DIR = join(REFERENCE, 'tests_metricflow/integration/test_cases');
const MANIFEST_DIR = join(REFERENCE, 'metricflow_semantics/test_helpers/semantic_manifest_yamls');
const SNAPSHOT_DIR = join(REFERENCE, 'tests_metricflow/fixtures/source_table_snapshots');

/** A case's outcome; `actual` is Tally's answer with MetricFlow's column names, when it ran. */
type Outcome = ({ status: 'passed' } | { status: 'failed'; reason: string } | { status: 'skipped'; reason: string }) & { actual?: Table };

const available = REFERENCE_MISSING === undefined;
const cases = available ? readCases(CASES_DIR) : [];
const files = [...new Set(cases.map((c) => c.file))];
const outcomes = new Map<IntegrationCase, Outcome>();
const projects = new Map<string, Project | Error>();
let engine: DuckDBEngine;

function projectFor(model: string): Project {
  let p = projects.get(model);
  if (!p) {
    const manifest = MANIFESTS[model];
    try {
      if (!manifest) throw new Error(`unknown test model ${model}`);
      p = loadDbtProject(join(MANIFEST_DIR, manifest), { vars: { source_schema: SCHEMA } });
    } catch (e) {
      p = e as Error;
    }
    projects.set(model, p);
  }
  if (p instanceof Error) throw new Error(`importing ${MANIFESTS[model] ?? model}: ${p.message}`);
  return p;
}

/**
 * The column MetricFlow outputs for a group-by item: time items named without a grain get the one
 * resolved, and a dimension reached through a longer entity path than written (`user__x` reached
 * from bookings through listing) is named after that path (`listing__user__x`).
 */
function mfColumn(item: ReturnType<typeof groupByItems>[number], key: GroupKey | undefined, graph: SemanticGraph, metrics: string[]): string {
  let name = item.mfName;
  const ref = key?.ref;
  const measure = metrics.flatMap((m) => leafMeasures(graph, m))[0];
  if (ref?.kind === 'dimension' && measure) {
    try {
      const path = resolveFrom(graph, measure.model, ref, 'naming').hops.map((h) => h.entity);
      if (path.length > ref.entityPath.length) name = [...path, ...name.split('__').slice(ref.entityPath.length)].join('__');
    } catch {
      // Unresolvable from this model: MetricFlow's name is the one written.
    }
  }
  if (!item.needsGrain || !key?.time) return name;
  return `${name}__${timeSpecText(key.time)}`;
}

/** A group-by that came from a saved query: MetricFlow's name for it is the reference with __. */
function savedQueryItem(k: GroupKey): ReturnType<typeof groupByItems>[number] {
  return { mfName: k.text.replace(/\./g, '__'), needsGrain: false, tallyRef: k.text };
}

async function runCase(c: IntegrationCase): Promise<Outcome> {
  const skip = skipReason(c);
  if (skip) return { status: 'skipped', reason: skip };
  let compiled: ReturnType<typeof compileRequest>;
  let items: ReturnType<typeof groupByItems>;
  let graph: SemanticGraph;
  try {
    const project = projectFor(c.model);
    items = groupByItems(c);
    compiled = compileRequest(project.graph, toRequest(c, SCHEMA), { dialect: engine.dialect });
    graph = project.graph;
  } catch (e) {
    return { status: 'failed', reason: `tally: ${(e as Error).message}` };
  }
  let actual;
  try {
    actual = await engine.query(compiled.sql, { timeoutMs: 30_000 });
  } catch (e) {
    return { status: 'failed', reason: `running Tally's SQL: ${(e as Error).message}` };
  }
  let expected;
  try {
    expected = await engine.query(renderCheckQuery(c, SCHEMA), { timeoutMs: 30_000 });
  } catch (e) {
    return { status: 'failed', reason: `running the check query: ${(e as Error).message}` };
  }
  // MetricFlow names group-bys as requested (time ones with their grain) and a saved query's as written there.
  const keyNames = compiled.plan.keys.map((k, i) => mfColumn(items[i] ?? savedQueryItem(k), k, graph, compiled.request.metrics));
  const dimensionNames = compiled.plan.minMax ? keyNames.flatMap((n) => [`${n}__min`, `${n}__max`]) : keyNames;
  const names = compiled.columns.map((col, i) => (col.role === 'dimension' ? dimensionNames[i] : col.name));
  const table = tableOf(actual, names);
  const diff = compareTables(table, tableOf(expected), { ordered: c.check_order === true, allowEmpty: c.allow_empty === true });
  return diff ? { status: 'failed', reason: diff, actual: table } : { status: 'passed', actual: table };
}

function summarize(): { passed: number; failed: number; skipped: number; text: string } {
  const lines: string[] = [];
  const total = { passed: 0, failed: 0, skipped: 0 };
  for (const file of files) {
    const mine = cases.filter((c) => c.file === file);
    const count = { passed: 0, failed: 0, skipped: 0 };
    const notes: string[] = [];
    for (const c of mine) {
      const o = outcomes.get(c);
      if (!o) continue;
      count[o.status]++;
      if (o.status !== 'passed') notes.push(`    ${o.status} ${c.name}: ${o.reason.replace(/\s+/g, ' ').slice(0, 400)}`);
    }
    total.passed += count.passed;
    total.failed += count.failed;
    total.skipped += count.skipped;
    lines.push(`${file}: ${count.passed} passed, ${count.failed} failed, ${count.skipped} skipped`, ...notes);
  }
  lines.push(`MetricFlow conformance: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped of ${cases.length} cases`);
  return { ...total, text: lines.join('\n') };
}

const caseKey = (c: IntegrationCase): string => `${c.file}:${c.name}`;

if (!available) it.skip(REFERENCE_MISSING ?? '', () => undefined);

describe.skipIf(!available)('MetricFlow integration cases (../shared/reference/metricflow)', () => {
  beforeAll(async () => {
    engine = await DuckDBEngine.open({ path: ':memory:' });
    await loadSnapshots(engine, SNAPSHOT_DIR, SCHEMA);
  });

  afterAll(async () => {
    await engine?.close();
  });

  for (const file of files) {
    it(file, async () => {
      for (const c of cases.filter((x) => x.file === file)) outcomes.set(c, await runCase(c));
    });
  }

  it('fails exactly the expected deviations (deviations.ts)', () => {
    const summary = summarize();
    console.log(summary.text);
    const report = process.env.TALLY_CONFORMANCE_REPORT;
    if (report) writeFileSync(report, summary.text + '\n');
    const failing = cases.filter((c) => outcomes.get(c)?.status === 'failed').map(caseKey).sort();
    expect(failing, 'a case listed here and not in deviations.ts newly fails; one only in deviations.ts newly passes: remove it there').toEqual(Object.keys(EXPECTED_DEVIATIONS).sort());
    expect(summary.passed + summary.failed + summary.skipped).toBe(cases.length);
  });

  describe.each(Object.entries(EXPECTED_DEVIATIONS))('expected deviation %s', (key, deviation) => {
    const c = (): IntegrationCase => {
      const found = cases.find((x) => caseKey(x) === key);
      if (!found) throw new Error(`no MetricFlow case ${key}`);
      return found;
    };
    const truth = async (): Promise<Table> => tableOf(await engine.query(renderJinja(deviation.truth, checkQueryContext(SCHEMA))));

    it('Tally returns exactly the rows of the hand-written truth', async () => {
      const actual = outcomes.get(c())?.actual;
      expect(actual, `Tally's answer for ${key}`).toBeDefined();
      expect(compareTables(actual as Table, await truth(), { ordered: false, allowEmpty: false })).toBeUndefined();
    });

    it('MetricFlow\'s check query differs from the truth by exactly the rows its reason names', async () => {
      expect(deviation.reason.length).toBeGreaterThan(0);
      const right = await truth();
      const metricflow = tableOf(await engine.query(renderCheckQuery(c(), SCHEMA)));
      const mf = rowTexts(metricflow, right.columns);
      const tally = rowTexts(right, right.columns);
      expect({ onlyMetricFlow: rowsMissingFrom(mf, tally), onlyTally: rowsMissingFrom(tally, mf) }).toEqual({
        onlyMetricFlow: [...deviation.onlyMetricFlow].sort(),
        onlyTally: [...deviation.onlyTally].sort(),
      });
    });

    if (deviation.premise) {
      const premise = deviation.premise;
      it('the data has the property the reason rests on', async () => {
        const found = await engine.query(renderJinja(premise, checkQueryContext(SCHEMA)));
        expect(found.rows.length).toBeGreaterThan(0);
      });
    }
  });
});
