/**
 * Reads metrics/*.yml into definitions, keeping where each one came from so that every problem,
 * from a YAML syntax error to a dangling reference found later, is reported as file:line:col.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { AccessDef } from './access-schema.js';
import { type DefinitionProblem } from '../errors.js';
import { fileSchema, type MetricDef, type SavedQueryDef, type SemanticModelDef, type TimeSpineDef } from './schema.js';

import { locate, type ParsedFile, parseYamlFile, type YamlPath, zodProblem } from './yaml-source.js';

export type { YamlPath };

const METRIC_TYPE_HINT = 'For metrics, `type` must be simple, ratio, derived, cumulative or conversion, with the keys that type takes';

/** Where a definition lives: enough to point at any part of it later. */
export interface SourceRef {
  file: string;
  path: YamlPath;
}

export interface Located<T> {
  def: T;
  source: SourceRef;
}

export interface LoadedDefinitions {
  models: Located<SemanticModelDef>[];
  metrics: Located<MetricDef>[];
  timeSpines: Located<TimeSpineDef>[];
  savedQueries: Located<SavedQueryDef>[];
  /** `access:` sections (roles, row filters, restricted metrics), checked by src/access/policy.ts. */
  access: Located<AccessDef>[];
  /** Turns a place in a file into a problem with line and column. */
  problemAt(source: SourceRef, subPath: YamlPath, message: string): DefinitionProblem;
  problems: DefinitionProblem[];
  /** Content hash of every definitions file, stable across machines. */
  version: string;
  files: string[];
}

export interface DefinitionSource {
  /** Path shown in messages (relative to the working directory). */
  display: string;
  text: string;
}

/** Finds metrics/**\/*.yml|yaml under a directory, sorted so that the version hash is stable. */
export function listDefinitionFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d).sort()) {
      const full = join(d, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.ya?ml$/.test(entry)) out.push(full);
    }
  };
  walk(dir);
  return out;
}

export function loadDefinitionFiles(dir: string): LoadedDefinitions {
  const files = listDefinitionFiles(dir);
  return loadDefinitionSources(
    files.map((f) => ({ display: relative(process.cwd(), f) || f, text: readFileSync(f, 'utf8') })),
  );
}

export function loadDefinitionSources(sources: DefinitionSource[]): LoadedDefinitions {
  const parsed = new Map<string, ParsedFile>();
  const problems: DefinitionProblem[] = [];
  const models: Located<SemanticModelDef>[] = [];
  const metrics: Located<MetricDef>[] = [];
  const timeSpines: Located<TimeSpineDef>[] = [];
  const savedQueries: Located<SavedQueryDef>[] = [];
  const access: Located<AccessDef>[] = [];
  const hash = createHash('sha256');

  for (const { display, text } of sources) {
    hash.update(display.replace(/\\/g, '/')).update('\0').update(text).update('\0');
    const { file, data, problems: syntax } = parseYamlFile(display, text);
    parsed.set(display, file);
    if (syntax.length > 0) {
      problems.push(...syntax);
      continue;
    }
    const result = fileSchema.safeParse(data);
    if (!result.success) {
      for (const issue of result.error.issues) problems.push(zodProblem(file, issue, METRIC_TYPE_HINT));
      continue;
    }
    (result.data.semantic_models ?? []).forEach((def, i) =>
      models.push({ def, source: { file: display, path: ['semantic_models', i] } }),
    );
    (result.data.metrics ?? []).forEach((def, i) => metrics.push({ def, source: { file: display, path: ['metrics', i] } }));
    (result.data.time_spines ?? []).forEach((def, i) => timeSpines.push({ def, source: { file: display, path: ['time_spines', i] } }));
    (result.data.saved_queries ?? []).forEach((def, i) => savedQueries.push({ def, source: { file: display, path: ['saved_queries', i] } }));
    if (result.data.access) access.push({ def: result.data.access, source: { file: display, path: ['access'] } });
  }

  const problemAt = (source: SourceRef, subPath: YamlPath, message: string): DefinitionProblem => {
    const file = parsed.get(source.file);
    if (!file) return { file: source.file, line: 1, col: 1, message };
    const { line, col } = locate(file, [...source.path, ...subPath]);
    return { file: source.file, line, col, message };
  };

  return {
    models,
    metrics,
    timeSpines,
    savedQueries,
    access,
    problemAt,
    problems,
    version: hash.digest('hex').slice(0, 12),
    files: sources.map((s) => s.display),
  };
}
