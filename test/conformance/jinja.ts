/**
 * A renderer for the subset of Jinja that MetricFlow's check queries and where filters use:
 * `{{ expression }}` blocks whose expressions are names, attribute access (`TimeGranularity.DAY`),
 * string / number / boolean / list literals and calls with positional and keyword arguments.
 * Undefined names are errors (MetricFlow renders with StrictUndefined). Statements (`{% %}`) and
 * filters (`|`) are not part of the subset and are refused.
 */

export type JinjaValue = string | number | boolean | null | JinjaValue[] | JinjaFunction | { [key: string]: JinjaValue };
export type JinjaFunction = (args: JinjaValue[], kwargs: Record<string, JinjaValue>) => JinjaValue;
export type JinjaContext = Record<string, JinjaValue>;

export function renderJinja(template: string, context: JinjaContext): string {
  if (/\{%|\{#/.test(template)) throw new Error('Jinja statements and comments are not supported by this renderer');
  let out = '';
  let i = 0;
  for (;;) {
    const open = template.indexOf('{{', i);
    if (open < 0) return out + template.slice(i);
    out += template.slice(i, open);
    const parser = new ExpressionParser(template, open + 2, context);
    const value = parser.expression();
    parser.skipSpace();
    if (template.slice(parser.pos, parser.pos + 2) !== '}}') throw parser.error("expected '}}'");
    out += toText(value);
    i = parser.pos + 2;
  }
}

/** Python's str() for the values the helpers return or receive. */
export function toText(value: JinjaValue): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`;
  throw new Error(typeof value === 'function' ? 'a function is not text; call it' : 'an object is not text; name one of its attributes');
}

function pythonRepr(value: JinjaValue): string {
  return typeof value === 'string' ? `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : toText(value);
}

class ExpressionParser {
  constructor(
    private readonly text: string,
    public pos: number,
    private readonly context: JinjaContext,
  ) {}

  error(message: string): Error {
    return new Error(`Jinja: ${message} at offset ${this.pos} in ${JSON.stringify(this.text.slice(Math.max(0, this.pos - 30), this.pos + 30))}`);
  }

  skipSpace(): void {
    while (/\s/.test(this.text[this.pos] ?? '')) this.pos++;
  }

  private eat(token: string): boolean {
    this.skipSpace();
    if (this.text.startsWith(token, this.pos)) {
      this.pos += token.length;
      return true;
    }
    return false;
  }

  expression(): JinjaValue {
    let value = this.primary();
    for (;;) {
      if (this.eat('.')) {
        const name = this.identifier();
        if (value === null || typeof value !== 'object' || Array.isArray(value) || !(name in value)) throw this.error(`no attribute '${name}'`);
        value = (value as Record<string, JinjaValue>)[name];
      } else if (this.eat('(')) {
        const { args, kwargs } = this.arguments();
        if (typeof value !== 'function') throw this.error('calling something that is not a function');
        value = value(args, kwargs);
      } else return value;
    }
  }

  private arguments(): { args: JinjaValue[]; kwargs: Record<string, JinjaValue> } {
    const args: JinjaValue[] = [];
    const kwargs: Record<string, JinjaValue> = {};
    if (this.eat(')')) return { args, kwargs };
    for (;;) {
      this.skipSpace();
      const keyword = /^([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)/.exec(this.text.slice(this.pos));
      if (keyword) {
        this.pos += keyword[0].length;
        kwargs[keyword[1]] = this.expression();
      } else {
        if (Object.keys(kwargs).length) throw this.error('a positional argument after a keyword argument');
        args.push(this.expression());
      }
      if (this.eat(')')) return { args, kwargs };
      if (!this.eat(',')) throw this.error("expected ',' or ')'");
    }
  }

  private identifier(): string {
    this.skipSpace();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos));
    if (!m) throw this.error('expected a name');
    this.pos += m[0].length;
    return m[0];
  }

  private primary(): JinjaValue {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === "'" || c === '"') return this.string(c);
    if (c === '[') {
      this.pos++;
      const items: JinjaValue[] = [];
      if (this.eat(']')) return items;
      for (;;) {
        items.push(this.expression());
        if (this.eat(']')) return items;
        if (!this.eat(',')) throw this.error("expected ',' or ']'");
      }
    }
    if (c === '(') {
      this.pos++;
      const value = this.expression();
      if (!this.eat(')')) throw this.error("expected ')'");
      return value;
    }
    const num = /^-?\d+(\.\d+)?/.exec(this.text.slice(this.pos));
    if (num) {
      this.pos += num[0].length;
      return Number(num[0]);
    }
    const name = this.identifier();
    if (name === 'True') return true;
    if (name === 'False') return false;
    if (name === 'None') return null;
    if (!(name in this.context)) throw this.error(`'${name}' is undefined`);
    return this.context[name];
  }

  private string(quote: string): string {
    let out = '';
    let i = this.pos + 1;
    while (i < this.text.length && this.text[i] !== quote) {
      if (this.text[i] === '\\') {
        out += this.text[i + 1];
        i += 2;
      } else out += this.text[i++];
    }
    if (i >= this.text.length) throw this.error('unterminated string');
    this.pos = i + 1;
    return out;
  }
}
