/**
 * sqlglot (PyPI, pinned) as the parser of the dialects we cannot run: a test-only virtualenv under
 * ~/.cache/tally-venv (or $TALLY_TEST_VENV) holds it; scripts/system-deps.sh creates it before the
 * tests, and this helper creates it too when it is missing (python3 -m venv + pip install).
 * test/tools/parse_sql.py parses each file with errors raised, without recovery.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testVenv } from './trino-server.js';

export const SQLGLOT_VERSION = '30.30.0';
const SCRIPT = fileURLToPath(new URL('../tools/parse_sql.py', import.meta.url));

function python(): string {
  return join(testVenv(), 'bin', 'python');
}

function installed(): boolean {
  if (!existsSync(python())) return false;
  const r = spawnSync(python(), ['-c', 'import sqlglot; print(sqlglot.__version__)'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() === SQLGLOT_VERSION;
}

/** Creates the virtualenv with sqlglot when it is missing or holds another version. */
export function ensureSqlglot(): void {
  if (installed()) return;
  if (!existsSync(python())) {
    const venv = spawnSync('python3', ['-m', 'venv', testVenv()], { encoding: 'utf8' });
    if (venv.status !== 0) throw new Error(`python3 -m venv ${testVenv()} failed (Debian: apt-get install python3-venv):\n${venv.stderr}`);
  }
  const pip = spawnSync(python(), ['-m', 'pip', 'install', '-q', `sqlglot==${SQLGLOT_VERSION}`], { encoding: 'utf8', timeout: 600_000 });
  if (pip.status !== 0) throw new Error(`pip install sqlglot==${SQLGLOT_VERSION} failed:\n${pip.stdout}${pip.stderr}`);
}

export interface ParseResult {
  file: string;
  /** sqlglot's error, or null when the file parsed. */
  error: string | null;
  statements: number;
}

/** Parses each file in its sqlglot dialect (bigquery, snowflake, redshift, trino…), in one Python process. */
export function parseWithSqlglot(items: { dialect: string; file: string }[]): { version: string; results: ParseResult[] } {
  ensureSqlglot();
  const r = spawnSync(python(), [SCRIPT], { input: JSON.stringify(items), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`test/tools/parse_sql.py failed:\n${r.stderr}`);
  const out = JSON.parse(r.stdout) as { sqlglot: string; results: ParseResult[] };
  return { version: out.sqlglot, results: out.results };
}
