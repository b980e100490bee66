/**
 * Walking dbt YAML for the importer: where a value is (`At`, so every problem has file:line:col),
 * and the checks each translation step shares: which keys it maps, drops with a warning, or
 * refuses (a key Tally would silently compute differently without is an error, never ignored).
 */
import type { DbtDocument, ImportProblem, YamlPath } from './source.js';

export type Obj = Record<string, unknown>;

/** Grains Tally has (dbt's names, lower-cased). */
export const TALLY_GRAINS = new Set(['millisecond', 'second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year']);
const DROPPED_QUIETLY = new Set(['label', 'config', 'meta', 'tags', 'description']);

/** A position in a dbt document; problems reported at it carry its line and column. */
export class At {
  constructor(
    readonly doc: DbtDocument,
    readonly path: YamlPath,
    private readonly problems: ImportProblem[],
  ) {}

  sub(...keys: (string | number)[]): At {
    return new At(this.doc, [...this.path, ...keys], this.problems);
  }

  report(message: string, severity: ImportProblem['severity'] = 'error', offsetInValue?: number): void {
    const { line, col } = this.doc.locate(this.path);
    this.problems.push({ file: this.doc.file.display, line, col: col + (offsetInValue ?? 0), message, severity });
  }
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A string value lower-cased (dbt accepts SUM and sum alike); anything else is undefined. */
export function lower(v: unknown): string | undefined {
  return typeof v === 'string' ? v.toLowerCase() : undefined;
}

/** Reports keys of `obj` that are neither mapped nor harmless to drop. */
export function checkKeys(obj: Obj, at: At, mapped: string[], droppedWithWarning: Record<string, string> = {}): void {
  for (const key of Object.keys(obj)) {
    if (mapped.includes(key) || DROPPED_QUIETLY.has(key)) continue;
    if (key in droppedWithWarning) {
      at.sub(key).report(`'${key}' is not imported: ${droppedWithWarning[key]}`, 'warning');
      continue;
    }
    at.sub(key).report(`Tally cannot map '${key}'; remove it or define the equivalent by hand`);
  }
}

/** Each item of a YAML list translated (items that fail are reported and left out); a missing list is empty. */
export function listOf(value: unknown, at: At, fn: (v: unknown, at: At) => Obj | undefined): Obj[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    at.report('expected a list');
    return [];
  }
  return value.map((v, i) => fn(v, at.sub(i))).filter((v): v is Obj => v !== undefined);
}
