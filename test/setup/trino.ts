/**
 * vitest globalSetup: one private Trino cluster for the whole run (a coordinator that does not
 * schedule work on itself plus one worker; see test/helpers/trino-server.ts), stopped by its PIDs
 * when the run ends. Test files get its URL with inject('trinoUrl') and wait for it with
 * trinoReady() (test/helpers/trino-db.ts): the JVMs start in the background while the other test
 * files run.
 *
 * It is not started when the run names test files and none of them is a Trino test, and
 * $TALLY_TEST_TRINO_URL reuses a cluster that is already running (for working on the Trino tests).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { launchTrino } from '../helpers/trino-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The coordinator's URL; '' when this run has no Trino tests. */
    trinoUrl: string;
    /** A file that holds the start-up failure, if the cluster failed to start. */
    trinoFailureFile: string;
  }
}

/** Whether the command line names test files, none of them a Trino test. */
function noTrinoTestsSelected(): boolean {
  const filters = process.argv.slice(2).filter((a) => !a.startsWith('-') && !['run', 'watch', 'dev', 'related'].includes(a) && /test|\.ts$/.test(a));
  return filters.length > 0 && !filters.some((f) => /trino/i.test(f));
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-trino-setup-'));
  const failureFile = join(dir, 'failure.txt');
  project.provide('trinoFailureFile', failureFile);
  if (process.env.TALLY_TEST_TRINO_URL) {
    project.provide('trinoUrl', process.env.TALLY_TEST_TRINO_URL);
    return async () => rmSync(dir, { recursive: true, force: true });
  }
  if (noTrinoTestsSelected()) {
    project.provide('trinoUrl', '');
    return async () => rmSync(dir, { recursive: true, force: true });
  }
  const started = Date.now();
  const cluster = await launchTrino({ workers: 1 });
  project.provide('trinoUrl', cluster.url);
  cluster.ready.then(
    () => console.log(`Trino cluster ready at ${cluster.url} in ${((Date.now() - started) / 1000).toFixed(0)} s`),
    (e: Error) => writeFileSync(failureFile, e.message),
  );
  return async () => {
    cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
