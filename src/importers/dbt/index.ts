/**
 * `tally import dbt`: reads a directory of dbt semantic YAML (semantic models, metrics of every
 * type, saved queries and the time spine configuration) and produces Tally definitions, or the
 * list of what cannot be mapped, at file:line:col. `loadDbtProject` loads such a directory
 * directly, as if it had been imported.
 */
import { posix } from 'node:path';
import { Document } from 'yaml';
import type { DefinitionSource } from '../../definitions/load.js';
import { DefinitionError } from '../../errors.js';
import { type Project, projectFromSources } from '../../project.js';
import { type DbtSourceFile, type ImportProblem, listYamlFiles, parseDocuments } from './source.js';
import { type TallyFile, type TranslateOptions, Translator } from './translate.js';

export type { ImportProblem } from './source.js';
export { translateFilter, translateGroupByName, translateObjectCall } from './filter.js';

export interface DbtImportOptions {
  /** Values for `$name` placeholders in relations (MetricFlow's manifests use $source_schema). */
  vars?: Record<string, string>;
  /** Schema put in front of `ref('model')` relations. */
  schema?: string;
}

export interface ImportedFile {
  /** Path of the Tally file, relative to the output directory. */
  path: string;
  text: string;
}

export interface DbtImport {
  files: ImportedFile[];
  /** Errors (nothing should be written) and warnings (something dbt-only was dropped). */
  problems: ImportProblem[];
  /** Whether any problem is an error. */
  failed: boolean;
}

export function importDbtDirectory(dir: string, options: DbtImportOptions = {}): DbtImport {
  return importDbtSources(listYamlFiles(dir), options);
}

export function importDbtSources(sources: DbtSourceFile[], options: DbtImportOptions = {}): DbtImport {
  const problems: ImportProblem[] = [];
  const translateOptions: TranslateOptions = { vars: options.vars ?? {}, schema: options.schema };
  const translator = new Translator(translateOptions, problems);
  for (const source of sources) {
    for (const doc of parseDocuments(source, problems)) translator.document(doc);
  }
  translator.finish();
  const files: ImportedFile[] = [];
  for (const [relativePath, content] of translator.files) {
    const text = renderTallyFile(content, relativePath);
    if (text !== undefined) files.push({ path: outputPath(relativePath), text });
  }
  problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
  return { files, problems, failed: problems.some((p) => p.severity === 'error') };
}

/** Loads a dbt directory as a Tally project; every import error is a definition problem. */
export function loadDbtProject(dir: string, options: DbtImportOptions = {}): Project {
  const imported = importDbtDirectory(dir, options);
  return projectFromImport(imported);
}

export function projectFromImport(imported: DbtImport): Project {
  if (imported.failed) throw new DefinitionError(imported.problems.filter((p) => p.severity === 'error'));
  const sources: DefinitionSource[] = imported.files.map((f) => ({ display: f.path, text: f.text }));
  return projectFromSources(sources);
}

function outputPath(relativePath: string): string {
  return relativePath.split(/[\\/]/).join(posix.sep).replace(/\.ya?ml$/, '.yml');
}

function renderTallyFile(content: TallyFile, from: string): string | undefined {
  const data: Record<string, unknown> = {};
  if (content.time_spines.length) data.time_spines = content.time_spines;
  if (content.semantic_models.length) data.semantic_models = content.semantic_models;
  if (content.metrics.length) data.metrics = content.metrics;
  if (content.saved_queries.length) data.saved_queries = content.saved_queries;
  if (Object.keys(data).length === 0) return undefined;
  // Imported projects keep MetricFlow's meaning where Tally's differs (empty counts and sums, calendar offsets).
  const doc = new Document({ semantics: 'metricflow', ...data });
  doc.commentBefore = ` Imported from dbt: ${from.split(/[\\/]/).join('/')}`;
  return doc.toString({ lineWidth: 0 });
}
