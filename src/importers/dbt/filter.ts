/**
 * MetricFlow's Jinja object references → Tally references.
 *
 * dbt writes filters as SQL with Jinja calls for the semantic objects:
 * `{{ Dimension('listing__country') }} = 'us'`, `{{ TimeDimension('metric_time', 'month') }}`,
 * `{{ Entity('user', entity_path=['listing']) }}`, `{{ Metric('bookings', group_by=['listing']) }}`.
 * Names joined by `__` are an entity path followed by the element, which Tally writes with dots:
 * `listing__user__country` → `listing.user.country`; a grain is one more part
 * (`metric_time.month`), a date part is `extract_<part>` (`metric_time.extract_dow`), and a metric
 * grouped by an entity is that entity's metric (`listing.bookings`).
 *
 * The SQL around the calls is kept; casts of a literal or of a reference to a time type
 * (`CAST('2020-01-01' AS TIMESTAMP)`) are dropped, since Tally compares times with string literals
 * directly. Anything else that is not part of Tally's filter language is left for its parser to
 * refuse with a position.
 */

export class FilterTranslationError extends Error {
  constructor(
    message: string,
    /** Offset in the filter text where the problem is. */
    readonly offset: number,
  ) {
    super(message);
  }
}

type Arg = string | number | boolean | null | Arg[];

interface Call {
  name: string;
  args: Arg[];
  kwargs: Record<string, Arg>;
}

const GRAIN_NAMES = new Set(['nanosecond', 'microsecond', 'millisecond', 'second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year']);

/** `a__b__c` → ['a', 'b', 'c']. */
export function splitDundered(name: string): string[] {
  return name.split('__').filter((p) => p.length > 0);
}

/** A group-by name as MetricFlow writes it (`listing__ds__month`) → a Tally reference. */
export function translateGroupByName(name: string): string {
  return splitDundered(name).join('.');
}

export interface ObjectReference {
  kind: 'dimension' | 'time_dimension' | 'entity' | 'metric';
  /** The Tally reference text. */
  text: string;
  /** For a metric: whether it is grouped by an entity (as it must be in a filter). */
  groupedBy?: boolean;
}

/** Translates every `{{ … }}` in a filter and drops casts of literals and references. */
export function translateFilter(text: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const open = text.indexOf('{{', i);
    if (open < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, open);
    const close = text.indexOf('}}', open + 2);
    if (close < 0) throw new FilterTranslationError("this '{{' is never closed with '}}'", open);
    const ref = translateObjectCall(text.slice(open + 2, close), open + 2);
    if (ref.kind === 'metric' && !ref.groupedBy) {
      throw new FilterTranslationError(`a metric in a filter must be grouped by exactly one entity (group_by=['entity']); Tally writes it as entity.metric`, open);
    }
    out += ref.text;
    i = close + 2;
  }
  if (/\{%|\{#/.test(out)) throw new FilterTranslationError('Jinja statements ({% %}) cannot be translated; write the filter without them', out.search(/\{%|\{#/));
  return dropCasts(dottedColumnNames(out.trim()));
}

/**
 * MetricFlow also lets a filter name a group-by by its output column (`metric_time__day`,
 * `listing__country`); outside string literals such names become Tally references.
 */
function dottedColumnNames(text: string): string {
  return text
    .split(/('(?:[^']|'')*')/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/\b[A-Za-z_][A-Za-z0-9_]*__[A-Za-z0-9_]+\b/g, (name) => translateGroupByName(name))))
    .join('');
}

/** `CAST(<literal or reference> AS TIMESTAMP|DATE|DATETIME)` → the literal or reference. */
function dropCasts(text: string): string {
  const cast = /\bCAST\s*\(\s*('(?:[^']|'')*'|[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s+AS\s+(?:TIMESTAMP|DATE|DATETIME)\s*\)/gi;
  return text.replace(cast, (_, inner: string) => inner);
}

/**
 * One Jinja expression such as `Dimension('a__b').grain('month')` or a group-by item written as
 * `TimeDimension('metric_time', 'day')` (saved queries) → a Tally reference.
 */
export function translateObjectCall(source: string, offset = 0): ObjectReference {
  const p = new CallParser(source, offset);
  const calls = p.chain();
  const [head, ...methods] = calls;
  const str = (v: Arg | undefined, what: string): string | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw new FilterTranslationError(`${head.name}(): ${what} must be a string`, offset);
    return v;
  };
  const list = (v: Arg | undefined, what: string): string[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new FilterTranslationError(`${head.name}(): ${what} must be a list of names`, offset);
    return v as string[];
  };
  const name = str(head.args[0] ?? head.kwargs.name, 'the name');
  if (!name) throw new FilterTranslationError(`${head.name}() needs a name`, offset);
  const entityPath = list(head.kwargs.entity_path, 'entity_path').flatMap(splitDundered);
  let grain: string | undefined;
  let datePart: string | undefined;
  let kind: ObjectReference['kind'];
  switch (head.name) {
    case 'Dimension':
      kind = 'dimension';
      break;
    case 'TimeDimension':
      kind = 'time_dimension';
      grain = str(head.args[1] ?? head.kwargs.time_granularity_name ?? head.kwargs.time_granularity ?? head.kwargs.grain, 'the grain');
      datePart = str(head.args[3] ?? head.kwargs.date_part_name ?? head.kwargs.date_part, 'the date part');
      break;
    case 'Entity':
      kind = 'entity';
      break;
    case 'Metric': {
      const groupBy = list(head.args[1] ?? head.kwargs.group_by, 'group_by');
      if (groupBy.length > 1) {
        throw new FilterTranslationError(`Metric('${name}') is grouped by ${groupBy.length} entities; Tally groups a metric in a filter by one entity (entity.metric)`, offset);
      }
      if (groupBy.length === 0) return { kind: 'metric', text: name, groupedBy: false };
      return { kind: 'metric', text: [...splitDundered(groupBy[0]), name].join('.'), groupedBy: true };
    }
    default:
      throw new FilterTranslationError(`'${head.name}' is not one of Dimension, TimeDimension, Entity or Metric`, offset);
  }
  for (const m of methods) {
    if (m.name === 'grain') grain = str(m.args[0], 'the grain');
    else if (m.name === 'date_part') datePart = str(m.args[0], 'the date part');
    else if (m.name === 'descending') continue;
    else throw new FilterTranslationError(`.${m.name}() cannot be translated (known: .grain(), .date_part(), .descending())`, offset);
  }
  const parts = [...entityPath, ...splitDundered(name)];
  if (grain) parts.push(grain.toLowerCase());
  if (datePart) parts.push(`extract_${datePart.toLowerCase()}`);
  return { kind, text: parts.join('.') };
}

/** Whether the last part of a translated reference names a standard grain. */
export function endsWithGrain(ref: string): boolean {
  const last = ref.split('.').pop() ?? '';
  return GRAIN_NAMES.has(last);
}

class CallParser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly offset: number,
  ) {}

  private fail(message: string): never {
    throw new FilterTranslationError(`cannot read the Jinja expression '${this.text.trim()}': ${message}`, this.offset + this.pos);
  }

  private space(): void {
    while (/\s/.test(this.text[this.pos] ?? '')) this.pos++;
  }

  private eat(token: string): boolean {
    this.space();
    if (this.text.startsWith(token, this.pos)) {
      this.pos += token.length;
      return true;
    }
    return false;
  }

  private identifier(): string {
    this.space();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos));
    if (!m) this.fail('expected a name');
    this.pos += m[0].length;
    return m[0];
  }

  chain(): Call[] {
    const calls = [this.call()];
    while (this.eat('.')) calls.push(this.call());
    this.space();
    if (this.pos < this.text.length) this.fail(`unexpected '${this.text.slice(this.pos)}'`);
    return calls;
  }

  private call(): Call {
    const name = this.identifier();
    if (!this.eat('(')) this.fail(`expected '(' after ${name}`);
    const args: Arg[] = [];
    const kwargs: Record<string, Arg> = {};
    if (this.eat(')')) return { name, args, kwargs };
    for (;;) {
      this.space();
      const kw = /^([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)/.exec(this.text.slice(this.pos));
      if (kw) {
        this.pos += kw[0].length;
        kwargs[kw[1]] = this.value();
      } else args.push(this.value());
      if (this.eat(')')) return { name, args, kwargs };
      if (!this.eat(',')) this.fail("expected ',' or ')'");
    }
  }

  private value(): Arg {
    this.space();
    const c = this.text[this.pos];
    if (c === "'" || c === '"') {
      const end = this.text.indexOf(c, this.pos + 1);
      if (end < 0) this.fail('unterminated string');
      const s = this.text.slice(this.pos + 1, end);
      this.pos = end + 1;
      return s;
    }
    if (c === '[' || c === '(') {
      const close = c === '[' ? ']' : ')';
      this.pos++;
      const items: Arg[] = [];
      if (this.eat(close)) return items;
      for (;;) {
        items.push(this.value());
        if (this.eat(close)) return items;
        if (!this.eat(',')) this.fail(`expected ',' or '${close}'`);
        if (this.eat(close)) return items;
      }
    }
    const num = /^-?\d+(\.\d+)?/.exec(this.text.slice(this.pos));
    if (num) {
      this.pos += num[0].length;
      return Number(num[0]);
    }
    const word = this.identifier();
    if (word === 'True' || word === 'true') return true;
    if (word === 'False' || word === 'false') return false;
    if (word === 'None' || word === 'none') return null;
    this.fail(`'${word}' is not a value`);
  }
}
