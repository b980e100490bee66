/**
 * dbt semantic YAML files read as documents that remember where every value came from, so that
 * whatever the importer cannot map is reported as file:line:col.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { firstSyntaxProblem, locateInDocument } from '../../definitions/yaml-source.js';
import { type DefinitionProblem, TallyError } from '../../errors.js';

export type { YamlPath } from '../../definitions/yaml-source.js';
import type { YamlPath } from '../../definitions/yaml-source.js';

export interface DbtSourceFile {
  /** Path shown in messages. */
  display: string;
  /** Path relative to the imported directory, used to name the output file. */
  relativePath: string;
  text: string;
}

/** One YAML document of a file with a way to locate any path inside it. */
export interface DbtDocument {
  file: DbtSourceFile;
  index: number;
  data: unknown;
  locate(path: YamlPath): { line: number; col: number };
}

export interface ImportProblem extends DefinitionProblem {
  /** Errors stop the import; warnings say what was dropped because Tally does not need it. */
  severity: 'error' | 'warning';
}

/** The YAML files under a dbt directory; a missing or empty directory is a TallyError saying so. */
export function listYamlFiles(dir: string): DbtSourceFile[] {
  const shown = relative(process.cwd(), dir) || dir;
  if (!existsSync(dir)) throw new TallyError('INVALID_REQUEST', `${shown}: no such directory; give the directory that holds the dbt project's YAML (e.g. models/)`);
  if (!statSync(dir).isDirectory()) throw new TallyError('INVALID_REQUEST', `${shown} is a file; give the directory that holds the dbt project's YAML (e.g. models/)`);
  const out: DbtSourceFile[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d).sort()) {
      if (entry.startsWith('.') || entry === 'node_modules' || entry === 'target' || entry === 'dbt_packages') continue;
      const full = join(d, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.ya?ml$/.test(entry)) {
        out.push({ display: relative(process.cwd(), full) || full, relativePath: relative(dir, full), text: readFileSync(full, 'utf8') });
      }
    }
  };
  walk(dir);
  if (out.length === 0) throw new TallyError('INVALID_REQUEST', `${shown}: no .yml or .yaml files found (searched every subdirectory)`);
  return out;
}

export function parseDocuments(file: DbtSourceFile, problems: ImportProblem[]): DbtDocument[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(file.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  const out: DbtDocument[] = [];
  list.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      // One problem per cause, in words: the first error as js-yaml places it (once per file).
      if (problems.some((p) => p.file === file.display && p.severity === 'error' && p.message.startsWith('YAML: '))) return;
      const plain = firstSyntaxProblem(file.display, file.text);
      const pos = lines.linePos(doc.errors[0].pos[0]);
      problems.push({ ...(plain ?? { file: file.display, line: pos.line, col: pos.col, message: doc.errors[0].message.split('\n')[0] }), message: `YAML: ${plain?.message ?? doc.errors[0].message.split('\n')[0]}`, severity: 'error' });
      return;
    }
    out.push({ file, index, data: doc.toJS(), locate: (path) => locateInDocument(doc, lines, path) });
  });
  return out;
}
