/**
 * Where dbt MetricFlow's reference material lives: `../shared/reference/metricflow` next to the
 * project (read-only, present in CI), or the directory named by TALLY_METRICFLOW_REFERENCE. A fresh
 * clone has no `../shared`; the tests that need it then skip, saying why, instead of failing or
 * skipping silently.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The reference directory (MetricFlow's LICENSE, README, tests_metricflow/, metricflow_semantics/). */
export const REFERENCE = process.env.TALLY_METRICFLOW_REFERENCE ?? join(ROOT, '../shared/reference/metricflow');

/** Why tests that read the reference are skipped, or undefined when it is there. */
export const REFERENCE_MISSING: string | undefined = existsSync(join(REFERENCE, 'tests_metricflow'))
  ? undefined
  : `skipped: MetricFlow's reference data is not at ${REFERENCE} (a fresh clone has no ../shared; ` +
    'set TALLY_METRICFLOW_REFERENCE to its directory to run these tests)';

if (REFERENCE_MISSING) console.warn(REFERENCE_MISSING);
