#!/usr/bin/env node
// `npm run build` (run by `npm install`/`npm ci` as the prepare step, and before `npm start` and
// `npm test`): compiles src/ to JavaScript in dist/ with the project's TypeScript and copies the
// catalog's static files beside it, so the `tally` command starts without compiling anything.
// dist/.built is stamped with the time the build started; bin/tally.js runs dist/ only while no
// file in src/ is newer than that stamp (else it runs the sources, so an edit is never run stale).
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const started = new Date();
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (compiled.status !== 0) {
  rmSync(dist, { recursive: true, force: true });
  console.error('build: TypeScript reported errors; dist/ not written (bin/tally.js runs the sources meanwhile)');
  process.exit(compiled.status ?? 1);
}
cpSync(join(root, 'src/web/public'), join(dist, 'web/public'), { recursive: true });
const stamp = join(dist, '.built');
writeFileSync(stamp, `built from src/ at ${started.toISOString()}\n`);
utimesSync(stamp, started, started);
