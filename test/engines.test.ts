/**
 * Every installed package supports the Node versions the project declares (issue 13: `npm
 * install` on Node 20 printed EBADENGINE warnings). Checked the way npm checks it, with npm's own
 * semver: each locked package's `engines.node` must accept both the running Node and the oldest
 * Node that package.json's `engines` allows; and `npm ls` finds the tree consistent with the lock.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

interface LockedPackage {
  version?: string;
  engines?: { node?: string } | string[];
}
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, LockedPackage> };
const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } };

describe('dependencies and the declared Node', () => {
  const oldest = semver.minVersion(manifest.engines.node)?.version ?? '';
  // Packages for another platform (optional binaries) are in the lock but not installed.
  const installed = Object.entries(lock.packages).filter(([path]) => path !== '' && existsSync(path));
  const nodeRange = (p: LockedPackage): string | undefined => (Array.isArray(p.engines) ? undefined : p.engines?.node);

  it('the lock file records the engines of package.json', () => {
    expect(lock.packages[''].engines).toEqual(manifest.engines);
    expect(installed.length).toBeGreaterThan(100);
  });

  it("every installed package's engines.node accepts the running Node and the oldest declared one", () => {
    const refused = installed
      .filter(([, p]) => nodeRange(p) !== undefined)
      .flatMap(([path, p]) =>
        [process.version, oldest].filter((v) => !semver.satisfies(v, nodeRange(p) ?? '*')).map((v) => `${path}@${p.version} wants node ${nodeRange(p)}, not ${v}`),
      );
    expect(refused).toEqual([]);
  });

  it('npm ls finds no missing, invalid or extraneous package', async () => {
    const npm = process.env.npm_execpath;
    const [cmd, args] = npm && npm.endsWith('.js') ? [process.execPath, [npm, 'ls', '--all', '--json']] : ['npm', ['ls', '--all', '--json']];
    const out = await promisify(execFile)(cmd, args, { maxBuffer: 64 * 1024 * 1024 }).catch((e: { stdout: string }) => ({ stdout: e.stdout }));
    const tree = JSON.parse(out.stdout) as { problems?: string[] };
    expect(tree.problems ?? []).toEqual([]);
  });
});
