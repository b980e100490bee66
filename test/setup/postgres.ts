/**
 * vitest globalSetup: one private Postgres cluster for the whole run (see
 * test/helpers/postgres-server.ts), shut down and deleted when the run ends. Test files get its
 * URL with inject('postgresUrl') and create a database of their own.
 */
import type { TestProject } from 'vitest/node';
import { startPostgres } from '../helpers/postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const server = await startPostgres();
  project.provide('postgresUrl', server.url);
  return () => server.stop();
}
