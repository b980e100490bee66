/**
 * Reads metrics/*.yml into definitions, keeping where each one came from so that every problem,
 * from a YAML syntax error to a dangling reference found later, is reported as file:line:col.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { AccessDef } from './access-schema.js';
import type { ExperimentDef } from '../experiments/schema.js';
import { type DefinitionProblem, didYouMean } from '../errors.js';
import { type DashboardDef, fileSchema, type RollupDef, type MetricDef, type SavedQueryDef, type SemanticModelDef, type Semantics, type TimeSpineDef } from './schema.js';

import type { z } from 'zod';
import { locate, type ParsedFile, parseYamlFile, type YamlPath, zodProblems } from './yaml-source.js';

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
  /** `dashboards:` sections, checked by the semantic graph. */
  dashboards: Located<DashboardDef>[];
  /** `access:` sections (roles, row filters, restricted metrics), checked by src/access/policy.ts. */
  access: Located<AccessDef>[];
  /** `experiments:` sections, checked by src/experiments/validate.ts. */
  experiments: Located<ExperimentDef>[];
  /** `rollups:` sections, checked by validate-rollups.ts. */
  rollups: Located<RollupDef>[];
  /** `semantics:` statements (Tally's or MetricFlow's where they differ); they must agree. */
  semantics: Located<Semantics>[];
  /** Turns a place in a file into a problem with line and column. */
  problemAt(source: SourceRef, subPath: YamlPath, message: string): DefinitionProblem;
  problems: DefinitionProblem[];
  /** Names of definitions left out because they are invalid (reported where they are defined). */
  dropped: ReadonlySet<string>;
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
  const dashboards: Located<DashboardDef>[] = [];
  const access: Located<AccessDef>[] = [];
  const experiments: Located<ExperimentDef>[] = [];
  const semantics: Located<Semantics>[] = [];
  const rollups: Located<RollupDef>[] = [];
  const hash = createHash('sha256');
  const dropped = new Set<string>();

  for (const { display, text } of sources) {
    hash.update(display.replace(/\\/g, '/')).update('\0').update(text).update('\0');
    const { file, data, problems: syntax } = parseYamlFile(display, text);
    parsed.set(display, file);
    if (syntax.length > 0) {
      problems.push(...syntax);
      continue;
    }
    const result = { data: validateFile(file, data, problems, dropped) };
    // Entries left out as invalid are holes (undefined), skipped here.
    (result.data.semantic_models ?? []).forEach((def, i) =>
      def && models.push({ def, source: { file: display, path: ['semantic_models', i] } }),
    );
    (result.data.metrics ?? []).forEach((def, i) => def && metrics.push({ def, source: { file: display, path: ['metrics', i] } }));
    (result.data.time_spines ?? []).forEach((def, i) => def && timeSpines.push({ def, source: { file: display, path: ['time_spines', i] } }));
    (result.data.saved_queries ?? []).forEach((def, i) => def && savedQueries.push({ def, source: { file: display, path: ['saved_queries', i] } }));
    (result.data.experiments ?? []).forEach((def, i) => def && experiments.push({ def, source: { file: display, path: ['experiments', i] } }));
    (result.data.dashboards ?? []).forEach((def, i) => def && dashboards.push({ def, source: { file: display, path: ['dashboards', i] } }));
    (result.data.rollups ?? []).forEach((def, i) => def && rollups.push({ def, source: { file: display, path: ['rollups', i] } }));
    if (result.data.semantics !== undefined) semantics.push({ def: result.data.semantics, source: { file: display, path: ['semantics'] } });
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
    dashboards,
    access,
    experiments,
    rollups,
    semantics,
    problemAt,
    problems,
    dropped,
    version: hash.digest('hex').slice(0, 12),
    files: sources.map((s) => s.display),
  };
}

/** A file's definitions; an entry of a list is undefined where it was invalid (positions are kept). */
type FileDefs = { [K in keyof z.infer<typeof fileSchema>]: z.infer<typeof fileSchema>[K] extends (infer T)[] | undefined ? (T | undefined)[] | undefined : z.infer<typeof fileSchema>[K] };

/**
 * Checks a file definition by definition, so that one mistake costs only its own definition and
 * every other problem in the same edit is still found (unknown measures, metrics, …). A definition
 * whose only fault is an unknown key (a typo) is kept without that key; the key is reported.
 * Problems go to `problems`; the valid definitions come back.
 */
function validateFile(file: ParsedFile, data: unknown, problems: DefinitionProblem[], dropped: Set<string>): FileDefs {
  const out: Record<string, unknown> = {};
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    problems.push({ file: file.display, line: 1, col: 1, message: `a definitions file holds keys such as ${Object.keys(fileSchema.shape).join(', ')}; this one holds ${Array.isArray(data) ? 'a list' : 'a single value'}` });
    return {};
  }
  const sections = fileSchema.shape as Record<string, z.ZodType>;
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    const schema = sections[key];
    if (!schema) {
      const hint = didYouMean(key, Object.keys(sections)).trim();
      problems.push(locatedAt(file, [key], `unknown section '${key}'; ${hint ? `${hint.replace(/^Did/, 'did')} Otherwise remove it` : `a definitions file holds ${Object.keys(sections).join(', ')}`}`));
      continue;
    }
    if (Array.isArray(value)) {
      const element = arrayElement(schema);
      if (element) {
        // Positions stay those of the file, so that later problems point at the right entry.
        out[key] = value.map((item, i) => {
          const parsed = validateOne(file, element, item, [key, i], problems, dropped);
          return parsed.ok ? parsed.value : undefined;
        });
        continue;
      }
    }
    const parsed = validateOne(file, schema, value, [key], problems, dropped);
    if (parsed.ok) out[key] = parsed.value;
  }
  return out as FileDefs;
}

function locatedAt(file: ParsedFile, path: YamlPath, message: string): DefinitionProblem {
  const { line, col } = locate(file, path, true);
  return { file: file.display, line, col, message };
}

/** The element schema of an (optional) array schema. */
function arrayElement(schema: z.ZodType): z.ZodType | undefined {
  let node: z.ZodType | undefined = schema;
  while (node) {
    const def: { type: string; innerType?: z.ZodType; element?: z.ZodType } = (node as unknown as { _zod: { def: { type: string; innerType?: z.ZodType; element?: z.ZodType } } })._zod.def;
    if (def.type === 'array') return def.element;
    node = def.innerType;
  }
  return undefined;
}

function validateOne(file: ParsedFile, schema: z.ZodType, value: unknown, at: YamlPath, problems: DefinitionProblem[], dropped: Set<string>): { ok: true; value: unknown } | { ok: false } {
  const first = schema.safeParse(value);
  if (first.success) return { ok: true, value: first.data };
  const found = first.error.issues.flatMap((issue) => zodProblems(file, issue, METRIC_TYPE_HINT, { schema, data: value, prefix: at }));
  // A misspelt required key is one mistake: "unknown key 'mesure'; did you mean 'measure'?"
  // says it all, without "'measure' is required" beside it.
  const suggested = new Set(found.flatMap((p) => /^unknown key '[^']+'; did you mean '([^']+)'/.exec(p.message)?.[1] ?? []));
  problems.push(...found.filter((p) => !suggested.has(/^'([^']+)' is required here/.exec(p.message)?.[1] ?? '')));
  // Keep what is sound, so that the rest of the edit is checked too: an unknown key (a typo) is
  // left out, a broken entry of a list inside the definition (one measure of a model) is dropped.
  // A definition broken at its own level is dropped whole; its name is remembered so that uses
  // of it elsewhere are not reported again as unknown.
  let current: unknown = structuredClone(value);
  for (let round = 0; round < 5; round++) {
    const result = schema.safeParse(current);
    if (result.success) return { ok: true, value: result.data };
    const removals: { list: unknown[]; index: number }[] = [];
    for (const issue of result.error.issues) {
      const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      if (issue.code === 'unrecognized_keys') {
        const node = valueAtPath(current, path);
        if (node && typeof node === 'object') for (const k of issue.keys) delete (node as Record<string, unknown>)[k];
        continue;
      }
      const last = path.map((p, j) => (typeof p === 'number' && j > 0 ? j : -1)).filter((j) => j > 0).pop();
      const list = last === undefined ? undefined : valueAtPath(current, path.slice(0, last));
      if (last === undefined || !Array.isArray(list)) {
        const name = (value as { name?: unknown } | null)?.name;
        if (typeof name === 'string') dropped.add(name);
        return { ok: false };
      }
      const element: unknown = list[path[last] as number];
      const name = (element as { name?: unknown } | null)?.name;
      if (typeof name === 'string') dropped.add(name);
      removals.push({ list, index: path[last] as number });
    }
    for (const { list, index } of removals.sort((a, b) => b.index - a.index)) if (index < list.length) list.splice(index, 1);
  }
  return { ok: false };
}

function valueAtPath(data: unknown, path: (string | number)[]): unknown {
  let node = data;
  for (const k of path) node = node && typeof node === 'object' ? (node as Record<string | number, unknown>)[k] : undefined;
  return node;
}

/**
 * Leaves out problems that only repeat an earlier one: a use of a definition that was reported
 * as invalid where it is defined (and so left out) is not reported again as unknown.
 */
export function withoutEchoes(problems: DefinitionProblem[], dropped: ReadonlySet<string>): DefinitionProblem[] {
  if (dropped.size === 0) return problems;
  return problems.filter((p) => {
    const m = /^unknown (?:measure|metric|semantic model|dimension|entity|time dimension) '([^']+)'/.exec(p.message);
    return !(m && dropped.has(m[1]));
  });
}
