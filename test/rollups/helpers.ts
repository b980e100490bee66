/** The example project's definitions with extra text (rollups) beside them, loaded from memory. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectFromSources, type Project } from '../../src/index.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The example definitions except metrics/rollups.yml, plus `extra` as metrics/test-rollups.yml. */
export function exampleWith(extra: string): Project {
  const dir = path.join(ROOT, 'metrics');
  const sources = readdirSync(dir)
    .filter((f) => f.endsWith('.yml') && f !== 'rollups.yml')
    .sort()
    .map((f) => ({ display: `metrics/${f}`, text: readFileSync(path.join(dir, f), 'utf8') }));
  return projectFromSources([...sources, { display: 'metrics/test-rollups.yml', text: extra }]);
}
