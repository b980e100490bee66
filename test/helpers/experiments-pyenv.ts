/**
 * A test-only Python virtual environment with the independent statistics implementations
 * (gbstats, scipy, statsmodels at pinned versions, test/experiments/requirements.txt), created on
 * first use under ~/.cache/tally-experiments-pyenv and reused while the requirements are the same.
 * When it cannot be created (no python3 venv, no package index), the caller skips with the reason.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const REQUIREMENTS = join(import.meta.dirname, '..', 'experiments', 'requirements.txt');

export function experimentsPython(): { python: string } | { skip: string } {
  const dir = process.env.TALLY_EXPERIMENTS_PYENV ?? join(homedir(), '.cache', 'tally-experiments-pyenv');
  const python = join(dir, 'bin', 'python');
  const marker = join(dir, 'requirements.sha256');
  const wanted = createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex');
  if (existsSync(python) && existsSync(marker) && readFileSync(marker, 'utf8') === wanted) return { python };
  try {
    rmSync(dir, { recursive: true, force: true });
    execFileSync('python3', ['-m', 'venv', dir], { stdio: 'pipe' });
    execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS], { stdio: 'pipe', timeout: 900_000 });
    writeFileSync(marker, wanted);
    return { python };
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    return { skip: `could not create the Python venv for gbstats/scipy/statsmodels in ${dir}: ${(err.stderr?.toString() || err.message).trim().split('\n').slice(-3).join(' ')}` };
  }
}

/** Runs test/experiments/independent.py on the cases and returns its answers. */
export function independentAnswers<T>(python: string, cases: unknown[]): T[] {
  const out = execFileSync(python, [join(import.meta.dirname, '..', 'experiments', 'independent.py')], { input: JSON.stringify(cases), maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(out.toString()) as T[];
}
