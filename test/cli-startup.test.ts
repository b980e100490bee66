/**
 * The command line starts without loading what it does not use (issue 13): `tally --help` loads
 * no library beyond commander (no engine, SQL parser, GraphQL, zod), and `tally compile` none of
 * the server's. The modules are read from Node's own resolver through a module hook, so what is
 * checked is what Node actually loaded. Startup time itself is measured in `npm run bench`, never here.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tally-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hooks = join(dir, 'hooks.mjs');
writeFileSync(
  hooks,
  `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.TALLY_IMPORT_LOG, r.url + '\\n');
  return r;
}
`,
);

/** The packages (node_modules/<name>) a tally command loaded. */
async function packagesLoaded(name: string, ...args: string[]): Promise<Set<string>> {
  const log = join(dir, `${name}.log`);
  writeFileSync(log, '');
  const register = `data:text/javascript,import{register}from"node:module";register(${JSON.stringify(pathToFileURL(hooks).href)})`;
  await run(process.execPath, ['--import', register, 'bin/tally.js', ...args], { env: { ...process.env, TALLY_IMPORT_LOG: log } });
  const urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  // tsx (when dist/ is stale) brings its own loader; what matters is what the command loads.
  return new Set(urls.map((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1]).filter((p): p is string => p !== undefined && p !== 'tsx' && !p.startsWith('@esbuild') && p !== 'esbuild' && p !== 'get-tsconfig' && p !== 'resolve-pkg-maps'));
}

describe('tally startup', () => {
  it('--help loads commander and nothing heavier', async () => {
    expect([...(await packagesLoaded('help', '--help'))]).toEqual(['commander']);
  });

  it('compile loads the SQL parser but neither an engine nor GraphQL', async () => {
    const loaded = await packagesLoaded('compile', 'compile', '-m', 'revenue', '-g', 'metric_time.month');
    expect(loaded.has('node-sql-parser') || loaded.has('zod')).toBe(true);
    for (const heavy of ['@duckdb/node-api', 'pg', 'graphql', 'graphql-yoga']) expect(loaded.has(heavy), heavy).toBe(false);
  });

  it('bin/tally.js runs dist/ while it is as new as src/, and the sources once src/ changes', async () => {
    // A copy of the layout with a main that says which one ran.
    const root = join(dir, 'layout');
    for (const d of ['bin', 'dist/cli', 'src/cli']) mkdirSync(join(root, d), { recursive: true });
    copyFileSync('bin/tally.js', join(root, 'bin/tally.js'));
    copyFileSync('package.json', join(root, 'package.json'));
    symlinkSync(resolve('node_modules'), join(root, 'node_modules'));
    writeFileSync(join(root, 'dist/cli/main.js'), "console.log('dist');\n");
    writeFileSync(join(root, 'src/cli/main.ts'), "const ran: string = 'src';\nconsole.log(ran);\n");
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(root, 'src/cli/main.ts'), old, old);
    writeFileSync(join(root, 'dist/.built'), '');
    const which = async (): Promise<string> => (await run(process.execPath, [join(root, 'bin/tally.js')])).stdout.trim();
    expect(await which()).toBe('dist');
    // An edit after the build: the sources run, never the stale build.
    writeFileSync(join(root, 'src/cli/main.ts'), "const ran: string = 'src';\nconsole.log(ran);\n");
    const later = new Date(Date.now() + 1000);
    utimesSync(join(root, 'src/cli/main.ts'), later, later);
    expect(await which()).toBe('src');
    // No build at all: the sources.
    rmSync(join(root, 'dist/.built'));
    expect(await which()).toBe('src');
  });
});
