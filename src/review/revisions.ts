/**
 * The definitions of a project as they are at a git revision, or in the working tree, loaded
 * into a project. Both sides name their files the same way (metrics/… relative to the project),
 * so that the same content has the same version whichever side it comes from.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { type DefinitionSource, listDefinitionFiles } from '../definitions/load.js';
import { DefinitionError, TallyError } from '../errors.js';
import { type Project, projectFromSources } from '../project.js';

/** A version of the definitions under review. */
export interface Revision {
  /** What the user called it: a git revision such as `main`, or `working tree`. */
  label: string;
  /** The commit it resolves to (short), for a git revision. */
  commit?: string;
  project: Project;
}

export const WORKING_TREE = 'working tree';
const DEFINITIONS_DIR = 'metrics';

/** `rev` undefined means the working tree; anything else is resolved by git in the project directory. */
export function loadRevision(projectDir: string, rev?: string): Revision {
  if (rev === undefined) return { label: WORKING_TREE, project: withLabel(WORKING_TREE, () => projectFromSources(workingTreeSources(projectDir))) };
  const commit = resolveCommit(projectDir, rev);
  return { label: rev, commit: commit.slice(0, 12), project: withLabel(rev, () => projectFromSources(revisionSources(projectDir, commit))) };
}

export function workingTreeSources(projectDir: string): DefinitionSource[] {
  const dir = join(projectDir, DEFINITIONS_DIR);
  if (!existsSync(dir)) return [];
  return listDefinitionFiles(dir).map((f) => ({ display: relative(projectDir, f).split(sep).join('/'), text: readFileSync(f, 'utf8') }));
}

export function revisionSources(projectDir: string, commit: string): DefinitionSource[] {
  // Without --full-name, ls-tree prints paths relative to the project directory, as `./path` in show.
  const paths = git(projectDir, ['ls-tree', '-r', '-z', '--name-only', commit, '--', DEFINITIONS_DIR])
    .split('\0')
    .filter((p) => /\.ya?ml$/.test(p))
    .sort(byPathSegments);
  return paths.map((path) => ({ display: path, text: git(projectDir, ['show', `${commit}:./${path}`]) }));
}

function resolveCommit(projectDir: string, rev: string): string {
  if (rev.startsWith('-')) throw new TallyError('INVALID_REQUEST', `'${rev}' is not a git revision`);
  try {
    return git(projectDir, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]).trim();
  } catch {
    throw new TallyError('INVALID_REQUEST', `'${rev}' is not a git revision of the repository at '${projectDir}'; name a branch, tag or commit (e.g. main, HEAD~1)`);
  }
}

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
}

/** The order listDefinitionFiles walks a directory in: sorted name by name, level by level. */
function byPathSegments(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return x.length - y.length;
}

/** Problems in the definitions of a revision say which revision they are in. */
function withLabel<T>(label: string, load: () => T): T {
  try {
    return load();
  } catch (e) {
    if (e instanceof DefinitionError) throw new DefinitionError(e.problems.map((p) => ({ ...p, file: `${label}:${p.file}` })));
    throw e;
  }
}
