/**
 * YAML files whose every problem is reported at file:line:col: parsing with positions, pointing
 * at a path inside a document, and turning zod issues into messages that say what to do. Used by
 * the definitions loader (metrics/*.yml) and the project config (tally.yml).
 */
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { CORE_SCHEMA, load as loadYaml } from 'js-yaml';
import type { z } from 'zod';
import type { DefinitionProblem } from '../errors.js';

export type YamlPath = (string | number)[];

/**
 * A parsed file. Data comes from js-yaml, several times faster than `yaml`; the positional parse
 * with `yaml` (which keeps every node's source range) runs only when a problem must be located.
 */
export class ParsedFile {
  private positional?: { doc: Document.Parsed; lines: LineCounter };
  constructor(
    readonly display: string,
    readonly text: string,
  ) {}

  private parse(): { doc: Document.Parsed; lines: LineCounter } {
    if (!this.positional) {
      const lines = new LineCounter();
      const doc = parseDocument(this.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
      this.positional = { doc, lines };
    }
    return this.positional;
  }

  get doc(): Document.Parsed {
    return this.parse().doc;
  }

  get lines(): LineCounter {
    return this.parse().lines;
  }
}

/** Parses one file; YAML syntax errors come back as problems (and `data` is then undefined). */
export function parseYamlFile(display: string, text: string): { file: ParsedFile; data?: unknown; problems: DefinitionProblem[] } {
  const file = new ParsedFile(display, text);
  try {
    // YAML 1.2's core schema, as `yaml` uses: no timestamps, no merge keys.
    return { file, data: loadYaml(text, { schema: CORE_SCHEMA }) ?? {}, problems: [] };
  } catch {
    // The positional parser reports syntax errors at their place, in its own words.
    const { doc, lines } = { doc: file.doc, lines: file.lines };
    if (doc.errors.length === 0) return { file, data: doc.toJS() ?? {}, problems: [] };
    const problems = doc.errors.map((e) => {
      const pos = lines.linePos(e.pos[0]);
      return { file: display, line: pos.line, col: pos.col, message: yamlMessage(e.message) };
    });
    return { file, problems };
  }
}

/** The deepest node that exists along a path, pointing at the key when the value is missing. */
export function locate(file: ParsedFile, path: YamlPath, atKey = false): { line: number; col: number } {
  return locateInDocument(file.doc, file.lines, path, atKey);
}

/** The same for any parsed document (a file may hold several, as dbt's do). */
export function locateInDocument(doc: Document.Parsed, lines: LineCounter, path: YamlPath, atKey = false): { line: number; col: number } {
  let node: unknown = doc.contents;
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
  return lines.linePos(offset);
}

/** A problem at a path in a parsed file. */
export function problemAtPath(file: ParsedFile, path: YamlPath, message: string, atKey = false): DefinitionProblem {
  const { line, col } = locate(file, path, atKey);
  return { file: file.display, line, col, message };
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

/**
 * A zod issue as a located problem. `unionHint` completes the message when a value matches none
 * of a union's shapes (for metrics: which `type`s exist).
 */
export function zodProblem(file: ParsedFile, issue: z.core.$ZodIssue, unionHint = ''): DefinitionProblem {
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
      message = missing ? `'${field}' is required here; add it` : `'${field}' is not valid: ${issue.message}${unionHint ? `. ${unionHint}` : ''}`;
      break;
    default:
      message = `'${field}': ${issue.message}`;
  }
  return problemAtPath(file, where, message, atKey);
}
