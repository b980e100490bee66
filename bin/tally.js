#!/usr/bin/env node
// The `tally` command. Runs the compiled JavaScript in dist/ (built by `npm install`, `npm start`
// and `npm test`; or `npm run build`) while it is up to date with src/, so it starts without
// compiling; after an edit to src/ (or without a build) it runs the TypeScript sources through tsx,
// so what runs is always what the sources say.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist', '.built');

/** True when some file under dir changed after time t (ms since the epoch). */
function changedSince(dir, t) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() ? changedSince(path, t) : statSync(path).mtimeMs > t) return true;
  }
  return false;
}

const built = existsSync(stamp) ? statSync(stamp).mtimeMs : undefined;
if (built !== undefined && !changedSince(join(root, 'src'), built)) {
  await import(pathToFileURL(join(root, 'dist', 'cli', 'main.js')).href);
} else {
  if (process.stderr.isTTY) console.error(`note: ${built === undefined ? 'no build in dist/' : 'src/ changed since the last build'}; running the sources (slower to start). \`npm run build\` makes tally start fast.`);
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}
