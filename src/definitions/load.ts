/**
 * Reads metrics/*.yml into definitions, keeping where each one came from so that every problem,
 * from a YAML syntax error to a dangling reference found later, is reported as file:line:col.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { type DefinitionProblem } from '../errors.js';
import { fileSchema, type MetricDef, type SemanticModelDef } from './schema.js';

export type YamlPath = (string | number)[];

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
  /** Turns a place in a file into a problem with line and column. */
  problemAt(source: SourceRef, subPath: YamlPath, message: string): DefinitionProblem;
  problems: DefinitionProblem[];
  /** Content hash of every definitions file, stable across machines. */
  version: string;
  files: string[];
}

interface ParsedFile {
  display: string;
  doc: Document.Parsed;
  lines: LineCounter;
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
  const hash = createHash('sha256');

  for (const { display, text } of sources) {
    hash.update(display.replace(/\\/g, '/')).update('\0').update(text).update('\0');
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const file: ParsedFile = { display, doc, lines };
    parsed.set(display, file);
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const pos = lines.linePos(e.pos[0]);
        problems.push({ file: display, line: pos.line, col: pos.col, message: yamlMessage(e.message) });
      }
      continue;
    }
    const data: unknown = doc.toJS() ?? {};
    const result = fileSchema.safeParse(data);
    if (!result.success) {
      for (const issue of result.error.issues) problems.push(zodProblem(file, issue));
      continue;
    }
    (result.data.semantic_models ?? []).forEach((def, i) =>
      models.push({ def, source: { file: display, path: ['semantic_models', i] } }),
    );
    (result.data.metrics ?? []).forEach((def, i) => metrics.push({ def, source: { file: display, path: ['metrics', i] } }));
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
    problemAt,
    problems,
    version: hash.digest('hex').slice(0, 12),
    files: sources.map((s) => s.display),
  };
}

/** The deepest node that exists along a path, pointing at the key when the value is missing. */
function locate(file: ParsedFile, path: YamlPath, atKey = false): { line: number; col: number } {
  let node: unknown = file.doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const [i, key] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(key));
      if (!pair) break;
      const keyStart = rangeStart(pair.key);
      const valueStart = rangeStart(pair.value);
      offset = (atKey && i === path.length - 1 ? keyStart : valueStart) ?? keyStart ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      const item: unknown = node.items[key];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else break;
  }
  return file.lines.linePos(offset);
}

function keyText(key: unknown): string | undefined {
  if (key && typeof key === 'object' && 'value' in key) return String((key as { value: unknown }).value);
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as YamlNode | null | undefined)?.range;
  return range ? range[0] : undefined;
}

function yamlMessage(message: string): string {
  const first = message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  return `YAML syntax error: ${first}. Check indentation, colons and quoting on this line.`;
}

function zodProblem(file: ParsedFile, issue: z.core.$ZodIssue): DefinitionProblem {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  let where = path;
  let atKey = false;
  let message = issue.message;
  const missing = file.doc.getIn(path) === undefined && path.length > 0;
  const field = path.length ? String(path[path.length - 1]) : 'file';
  switch (issue.code) {
    case 'unrecognized_keys': {
      const keys = issue.keys;
      message = `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `'${k}'`).join(', ')}; remove ${keys.length > 1 ? 'them' : 'it'} or check the spelling`;
      where = [...path, keys[0]];
      atKey = true;
      break;
    }
    case 'invalid_type':
      message =
        issue.input === undefined
          ? `'${field}' is required here; add it`
          : `'${field}' has the wrong type: ${issue.message.replace(/^Invalid input: /, '')}`;
      break;
    case 'invalid_value':
      message = `'${field}' must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'invalid_union':
      message = missing
        ? `'${field}' is required here; add it`
        : `'${field}' is not valid: ${issue.message}. For metrics, \`type\` must be simple, ratio, derived, cumulative or conversion, with the keys that type takes`;
      break;
    default:
      message = `'${field}': ${issue.message}`;
  }
  const { line, col } = locate(file, where, atKey);
  return { file: file.display, line, col, message };
}
