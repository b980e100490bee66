/**
 * YAML files whose every problem is reported at file:line:col: parsing with positions, pointing
 * at a path inside a document, and turning zod issues into messages that say what to do. Used by
 * the definitions loader (metrics/*.yml) and the project config (tally.yml).
 */
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { CORE_SCHEMA, load as loadYaml, loadAll as loadAllYaml } from 'js-yaml';
import type { z } from 'zod';
import { type DefinitionProblem, didYouMean } from '../errors.js';

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

/**
 * Parses one file; a YAML syntax error comes back as one problem (and `data` is then undefined):
 * the first thing that breaks, on the line where it is, said in words rather than parser terms.
 * js-yaml stops at the first error and places it well; `yaml` would report every consequence
 * of one bad indentation, starting on an earlier line.
 */
export function parseYamlFile(display: string, text: string): { file: ParsedFile; data?: unknown; problems: DefinitionProblem[] } {
  const file = new ParsedFile(display, text);
  try {
    // YAML 1.2's core schema, as `yaml` uses: no timestamps, no merge keys.
    return { file, data: loadYaml(text, { schema: CORE_SCHEMA }) ?? {}, problems: [] };
  } catch (e) {
    const mark = (e as { mark?: { line: number; column: number } }).mark;
    const reason = (e as { reason?: string }).reason;
    if (mark && reason) return { file, problems: [syntaxProblem(display, text, mark.line, mark.column, reason)] };
    // Without a position from js-yaml, the positional parser decides; it may accept the text.
    const { doc, lines } = { doc: file.doc, lines: file.lines };
    if (doc.errors.length === 0) return { file, data: doc.toJS() ?? {}, problems: [] };
    const pos = lines.linePos(doc.errors[0].pos[0]);
    return { file, problems: [{ file: display, line: pos.line, col: pos.col, message: plainSyntaxMessage(doc.errors[0].message.split('\n')[0], '') }] };
  }
}

/**
 * The first YAML syntax error of a text that may hold several documents (dbt's files), as one
 * problem in plain words; undefined when js-yaml reads it.
 */
export function firstSyntaxProblem(display: string, text: string): DefinitionProblem | undefined {
  try {
    loadAllYaml(text, () => undefined, { schema: CORE_SCHEMA });
    return undefined;
  } catch (e) {
    const mark = (e as { mark?: { line: number; column: number } }).mark;
    const reason = (e as { reason?: string }).reason;
    return mark && reason ? syntaxProblem(display, text, mark.line, mark.column, reason) : undefined;
  }
}

/** Columns (0-based) where a line's content starts, and where its key starts after any `- `. */
function indentOf(line: string): { content: number; key: number } {
  const content = line.length - line.trimStart().length;
  const dash = /^(\s*)-\s+/.exec(line);
  return { content, key: dash ? dash[0].length : content };
}

const isContent = (line: string): boolean => line.trim() !== '' && !line.trim().startsWith('#');

/** A js-yaml error (0-based line and column) as one problem in an analyst's words. */
function syntaxProblem(display: string, text: string, line0: number, col0: number, reason: string): DefinitionProblem {
  const lines = text.split(/\r?\n/);
  const here = lines[line0] ?? '';
  const at = (line: number, col: number, message: string): DefinitionProblem => ({ file: display, line: line + 1, col: col + 1, message });
  let above = line0 - 1;
  while (above >= 0 && !isContent(lines[above])) above--;
  const key = /^\s*(?:-\s+)?([^:#]+?)\s*:/.exec(here)?.[1];
  const value = key ? here.slice(here.indexOf(':') + 1) : '';
  if (/bad indentation/.test(reason) && key && /:(\s|$)/.test(value.trim() + ' ') && !/^\s*["'[{|>]/.test(value)) {
    return at(line0, here.indexOf(':') + 1, `the value of '${key}' contains ': '; put the whole value in quotes`);
  }
  if (/deficient indentation|unexpected end of the stream/.test(reason)) {
    // An unclosed bracket or quote swallows the lines after it; point at where it was opened.
    for (let i = line0; i >= 0; i--) {
      const l = lines[i] ?? '';
      const opened = (l.match(/[[{]/g) ?? []).length - (l.match(/[\]}]/g) ?? []).length;
      if (opened > 0) return at(i, l.search(/[[{]/), `the '${l[l.search(/[[{]/)]}' opened here is not closed; close it on this line, or put the whole value in quotes if the bracket is text`);
      if ((l.match(/"/g) ?? []).length % 2 === 1) return at(i, l.indexOf('"'), 'the quote opened here is not closed; add the closing quote');
    }
  }
  if (/bad indentation/.test(reason) && above >= 0) {
    const mine = indentOf(here).content;
    const prev = indentOf(lines[above]).key;
    const what = key ? `'${key}'` : 'this line';
    return at(
      line0,
      mine,
      `${what} is indented by ${mine} spaces, but the line above (line ${above + 1}) puts its key at ${prev}; keys of one definition line up in the same column, and a new list item starts with '- '`,
    );
  }
  if (/duplicated mapping key/.test(reason) && key) {
    const mine = indentOf(here).key;
    let first = line0 - 1;
    for (; first >= 0; first--) {
      if (!isContent(lines[first])) continue;
      const ind = indentOf(lines[first]);
      if (ind.key === mine && /^\s*(?:-\s+)?([^:#]+?)\s*:/.exec(lines[first])?.[1] === key) break;
      if (ind.key < mine) {
        first = -1;
        break;
      }
    }
    const where = first >= 0 ? ` (first on line ${first + 1})` : '';
    return at(line0, mine, `'${key}' appears twice in the same definition${where}; keep one, or indent this line further if it belongs to the key above`);
  }
  return at(line0, col0, plainSyntaxMessage(reason, key));
}

/** Parser wording turned into what to look for. */
function plainSyntaxMessage(reason: string, key: string | undefined): string {
  if (/tab/i.test(reason)) return 'this line is indented with a tab; YAML indents with spaces only';
  if (/flow (collection|mapping|sequence)|missed comma/i.test(reason)) return "a list '[' or map '{' opened here is not closed properly; close it, or put the whole value in quotes if the bracket is text";
  if (/quoted scalar/i.test(reason)) return 'a quoted text is not closed; add the closing quote';
  if (/multiline key|implicit key|block mapping entry/i.test(reason)) return `${key ? `'${key}': ` : ''}a key runs over several lines: probably a ':' is missing after a key above, or a value containing ': ' needs quotes`;
  if (/document separator|end of the stream/i.test(reason)) return 'this line does not fit the structure above it: check its indentation and that it is a new key or list item';
  if (/alias|anchor/i.test(reason)) return `YAML anchors and aliases (& and *) are not supported here: ${reason}`;
  return `YAML syntax error: ${reason}. Check indentation, colons and quoting on this line.`;
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

/** What a zod issue is checked against, so that messages can suggest the nearest name. */
export interface IssueContext {
  /** The schema the data was parsed with. */
  schema?: z.ZodType;
  /** The data it was given (the issue's path starts here). */
  data?: unknown;
  /** Where that data sits in the file (prepended to the issue's path to locate it). */
  prefix?: YamlPath;
}

/**
 * A zod issue as a located problem. `unionHint` completes the message when a value matches none
 * of a union's shapes (for metrics: which `type`s exist).
 */
export function zodProblem(file: ParsedFile, issue: z.core.$ZodIssue, unionHint = '', context: IssueContext = {}): DefinitionProblem {
  return zodProblems(file, issue, unionHint, context)[0];
}

/**
 * A zod issue as located problems: one per unknown key (each at its key, with the nearest known
 * key suggested), one otherwise. An unknown enum value suggests the nearest allowed one.
 */
export function zodProblems(file: ParsedFile, issue: z.core.$ZodIssue, unionHint = '', context: IssueContext = {}): DefinitionProblem[] {
  const relative = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const prefix = context.prefix ?? [];
  const path = [...prefix, ...relative];
  const missing = file.doc.getIn(path) === undefined && path.length > 0;
  const field = path.length ? String(path[path.length - 1]) : 'file';
  const value = context.data === undefined ? undefined : valueAt(context.data, relative);
  const nearest = (text: unknown, candidates: readonly string[]): string =>
    typeof text === 'string' && candidates.length ? didYouMean(text, candidates).trim() : '';
  let message = issue.message;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = context.schema ? objectKeysAt(context.schema, context.data, relative) : [];
      return issue.keys.map((k) => {
        const hint = nearest(k, known.filter((n) => !issue.keys.includes(n)));
        return problemAtPath(file, [...path, k], `unknown key '${k}'; ${hint ? `${hint.replace(/^Did/, 'did')} Otherwise remove it` : 'remove it or check the spelling'}`, true);
      });
    }
    case 'invalid_type':
      message =
        issue.input === undefined && (missing || context.data === undefined || value === undefined)
          ? `'${field}' is required here; add it`
          : `'${field}' has the wrong type: ${issue.message.replace(/^Invalid input: /, '')}`;
      break;
    case 'invalid_value': {
      const allowed = issue.values.map((v) => String(v));
      message = `'${field}' must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}${value === undefined ? '' : `, not ${JSON.stringify(value)}`}.${nearest(value, allowed) ? ` ${nearest(value, allowed)}` : ''}`;
      break;
    }
    case 'invalid_union': {
      // A union of shapes (a name or a mapping, say): report the problems of the shape that the
      // value has, as if only that shape were allowed.
      const branches = 'errors' in issue && Array.isArray(issue.errors) ? (issue.errors as z.core.$ZodIssue[][]) : [];
      const isObject = value !== null && typeof value === 'object';
      const fits = branches.filter((b) => b.length > 0 && !b.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || (i.code === 'invalid_value' && isObject))));
      if (fits.length === 1) {
        return fits[0].flatMap((i) => zodProblems(file, { ...i, path: [...relative, ...i.path] } as z.core.$ZodIssue, unionHint, context));
      }
      const options = 'options' in issue && Array.isArray(issue.options) ? issue.options.map((o: unknown) => String(o)) : [];
      if (options.length && value !== undefined) {
        message = `'${field}' must be one of ${options.join(', ')}, not ${JSON.stringify(value)}.${nearest(value, options) ? ` ${nearest(value, options)}` : ''}`;
      } else message = missing ? `'${field}' is required here; add it` : `'${field}' is not valid: ${issue.message}${unionHint && (relative.length === 0 || 'discriminator' in issue) ? `. ${unionHint}` : ''}`;
      break;
    }
    case 'too_big':
      message = typeof issue.maximum === 'number' || typeof issue.maximum === 'bigint' ? `'${field}' must be at most ${issue.maximum}${value === undefined ? '' : `, not ${JSON.stringify(value)}`}` : `'${field}': ${issue.message}`;
      break;
    case 'too_small':
      message =
        issue.origin === 'array' || issue.origin === 'string'
          ? `'${field}' must not be empty`
          : `'${field}' must be at least ${issue.minimum}${value === undefined ? '' : `, not ${JSON.stringify(value)}`}`;
      break;
    default:
      message = `'${field}': ${issue.message}`;
  }
  return [problemAtPath(file, path, message)];
}

function valueAt(data: unknown, path: YamlPath): unknown {
  let v: unknown = data;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}

/** zod's internal definition, as far as finding an object's keys needs it. */
interface SchemaDef {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  options?: z.ZodType[];
  discriminator?: string;
}
const defOf = (schema: z.ZodType): SchemaDef => (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;

/** The keys the object schema at `path` allows (for suggesting one); empty when unknown. */
export function objectKeysAt(schema: z.ZodType, data: unknown, path: YamlPath): string[] {
  let node: z.ZodType | undefined = schema;
  let value = data;
  const steps = [...path];
  while (node) {
    const def = defOf(node);
    if (def.innerType) node = def.innerType;
    else if (def.type === 'pipe' && def.in) node = def.in;
    else if (def.type === 'union' && def.options) {
      const options: z.ZodType[] = def.options;
      const disc = def.discriminator;
      const objectOptions = options.filter((o) => objectShape(o));
      const chosen =
        disc && value && typeof value === 'object'
          ? objectOptions.find((o) => {
              const lit = objectShape(o)?.[disc];
              const litDef = lit ? (defOf(lit) as SchemaDef & { values?: unknown[] }) : undefined;
              return litDef?.values?.includes((value as Record<string, unknown>)[disc]);
            })
          : value && typeof value === 'object' && !Array.isArray(value)
            ? objectOptions[0]
            : options.find((o) => defOf(o).type === 'array');
      node = chosen;
    } else if (steps.length === 0) return def.shape ? Object.keys(def.shape) : [];
    else {
      const key = steps.shift() as string | number;
      value = value && typeof value === 'object' ? (value as Record<string | number, unknown>)[key] : undefined;
      node = def.type === 'array' ? def.element : def.shape?.[String(key)];
    }
  }
  return [];
}

function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  let node: z.ZodType | undefined = schema;
  while (node) {
    const def = defOf(node);
    if (def.type === 'object') return def.shape;
    node = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
  }
  return undefined;
}
