/**
 * A private, throw-away Postgres cluster for the tests: initdb into a temporary directory, pg_ctl
 * start on a free loopback port, and on stop the server is shut down and the directory removed.
 *
 * Postgres refuses to run as root, so when the tests run as root (CI containers) the cluster
 * belongs to the `postgres` system user that the Debian package creates: the directory is
 * chowned to it and initdb / pg_ctl run with its uid and gid.
 */
import { execFileSync, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PostgresServer {
  /** postgres://tally@127.0.0.1:PORT/postgres (trust authentication on loopback only). */
  url: string;
  port: number;
  dir: string;
  /** Shuts down and removes the cluster. */
  stop(): void;
  /** Stops the server abruptly (as a crash would), keeping its data; `resume` starts it again on the same port. */
  halt(): void;
  resume(): void;
}

const USER = 'tally';

/** The directory with initdb and pg_ctl: $PG_BIN, then Postgres 15 as Debian installs it, then any version. */
export function postgresBinDir(): string {
  const candidates = [process.env.PG_BIN, '/usr/lib/postgresql/15/bin'];
  if (existsSync('/usr/lib/postgresql')) {
    for (const v of readdirSync('/usr/lib/postgresql').sort().reverse()) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  }
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
  } catch {
    // pg_config is optional
  }
  const found = candidates.find((d): d is string => !!d && existsSync(join(d, 'initdb')) && existsSync(join(d, 'pg_ctl')));
  if (!found) {
    throw new Error(
      'Postgres server binaries (initdb, pg_ctl) were not found. Install them (Debian: apt-get install -y postgresql) or set PG_BIN to their directory.',
    );
  }
  return found;
}

/** uid and gid to run the server as: ourselves, or the `postgres` user when we are root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid };
  } catch {
    throw new Error("running as root, but there is no 'postgres' system user to run the test cluster as (installing the postgresql package creates it)");
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function run(bin: string, args: string[], options: SpawnSyncOptions, what: string, logFile?: string): void {
  const result = spawnSync(bin, args, { ...options, encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0) {
    const log = logFile && existsSync(logFile) ? `\nserver log:\n${readFileSync(logFile, 'utf8')}` : '';
    throw new Error(`${what} failed (exit ${result.status ?? result.signal}): ${result.error?.message ?? ''}\n${String(result.stdout)}${String(result.stderr)}${log}`);
  }
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const owner = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'tally-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  if (owner) chownSync(dir, owner.uid, owner.gid);
  // A neutral environment: no PG* variables of the caller's leak into the cluster.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C', TZ: 'UTC' };
  const options: SpawnSyncOptions = { cwd: dir, env, ...(owner ?? {}) };
  const stop = (): void => {
    if (existsSync(join(data, 'postmaster.pid'))) {
      spawnSync(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], { ...options, stdio: 'ignore', timeout: 60_000 });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    run(join(bin, 'initdb'), ['-D', data, '-U', USER, '--auth=trust', '--no-sync', '--encoding=UTF8', '--no-locale'], options, 'initdb');
    const port = await freePort();
    const serverOptions = [
      `-p ${port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${dir}`,
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c timezone=UTC',
      '-c max_connections=50',
    ].join(' ');
    const start = (): void => run(join(bin, 'pg_ctl'), ['-D', data, '-l', log, '-o', serverOptions, '-w', '-t', '60', 'start'], options, 'pg_ctl start', log);
    start();
    const halt = (): void => run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], options, 'pg_ctl stop', log);
    return { url: `postgres://${USER}@127.0.0.1:${port}/postgres`, port, dir, stop, halt, resume: start };
  } catch (e) {
    stop();
    throw e;
  }
}
