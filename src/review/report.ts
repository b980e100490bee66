/** A definitions diff as text for the terminal, or as Markdown for a pull request comment. */
import type { Cell } from '../engines/engine.js';
import type { DefinitionsDiff, FieldChange, MetricChange, NumberChange } from './diff.js';

function side(s: DefinitionsDiff['base']): string {
  return `${s.label} (${s.commit && s.commit !== s.label ? `commit ${s.commit}, ` : ''}definitions ${s.version})`;
}

function value(v: unknown): string {
  if (v === undefined) return '(none)';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function cell(v: Cell): string {
  if (v === null) return '–';
  if (typeof v === 'number' && !Number.isInteger(v)) return v.toLocaleString('en-US', { maximumFractionDigits: 6, useGrouping: false });
  return String(v);
}

function percent(p: number | null): string {
  return p === null ? '–' : `${p > 0 ? '+' : ''}${p.toFixed(1)}%`;
}

/** Why a metric is listed as changed, in a few words. */
function reason(change: MetricChange): string {
  const parts: string[] = [];
  if (change.fields.length) parts.push(change.fields.map((f) => f.field).join(', '));
  if (change.changedInputs.length) parts.push(`through ${change.changedInputs.join(', ')}`);
  if (!parts.length) parts.push('SQL (through its measures or models)');
  return parts.join('; ');
}

function numberRows(change: MetricChange): string[][] {
  return (change.numbers ?? []).map((n: NumberChange) => [n.key || 'total', cell(n.base), cell(n.head), cell(n.change), percent(n.percent)]);
}

function keyHeader(change: MetricChange): string {
  return change.request.groupBy.join(' / ') || change.metric;
}

export function formatText(diff: DefinitionsDiff): string {
  const out: string[] = [`Metric changes from ${side(diff.base)} to ${side(diff.head)}`, ''];
  const { added, removed, changed, models } = diff;
  if (!added.length && !removed.length && !changed.length) {
    out.push('No metric changed.');
    if (models.added.length + models.removed.length + models.changed.length) out.push(modelLine(diff));
    return out.join('\n') + '\n';
  }
  const rows = [
    ...changed.map((c) => ['changed', c.metric, reason(c)]),
    ...added.map((m) => ['added', m.metric, `${m.type}: ${m.formula}`]),
    ...removed.map((m) => ['removed', m.metric, `${m.type}: ${m.formula}`]),
  ];
  out.push(...table(['', 'metric', 'what'], rows, []).map((l) => `  ${l}`));
  for (const e of diff.experiments ?? []) out.push('', `WARNING: experiment '${e.experiment}' is running (${e.start} to ${e.end}) and uses ${e.metrics.join(', ')}; its criteria were agreed before the start`);
  if (models.added.length + models.removed.length + models.changed.length) out.push('', modelLine(diff));
  for (const change of changed) {
    out.push('', `== ${change.metric}: ${reason(change)} ==`);
    for (const f of change.fields) out.push(`${f.field}: ${value(f.base)}  ->  ${value(f.head)}`);
    out.push(change.sqlDiff ? `SQL of ${change.requestText}:\n${change.sqlDiff.trimEnd()}` : `SQL of ${change.requestText}: unchanged`);
    if (change.numbersError) out.push('', `${change.requestText}: the numbers cannot be compared: ${change.numbersError}`);
    if (change.numbers) {
      out.push('', `${change.requestText}, ${diff.base.label} -> ${diff.head.label}:`);
      out.push(...table([keyHeader(change), diff.base.label, diff.head.label, 'change', '% change'], numberRows(change), [1, 2, 3, 4]));
    }
  }
  return out.join('\n') + '\n';
}

function modelLine(diff: DefinitionsDiff): string {
  const { added, removed, changed } = diff.models;
  const parts = [changed.length ? `changed: ${changed.join(', ')}` : '', added.length ? `added: ${added.join(', ')}` : '', removed.length ? `removed: ${removed.join(', ')}` : ''];
  return `Semantic models ${parts.filter(Boolean).join('; ')}`;
}

function table(header: string[], rows: string[][], rightAligned: number[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]): string => r.map((c, i) => (rightAligned.includes(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [fmt(header), ...rows.map(fmt)];
}

/** Inline code that survives backticks inside. */
function code(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((s) => s.length));
  const fence = '`'.repeat(longest + 1);
  return longest ? `${fence} ${text} ${fence}` : `${fence}${text}${fence}`;
}

const mdCell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

function block(language: string, text: string): string {
  const longest = Math.max(2, ...(text.match(/`{3,}/g) ?? []).map((s) => s.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${language}\n${text.trimEnd()}\n${fence}`;
}

function mdSide(s: DefinitionsDiff['base']): string {
  return `${code(s.label)} (${s.commit && s.commit !== s.label ? `commit ${code(s.commit)}, ` : ''}definitions ${code(s.version)})`;
}

export function formatMarkdown(diff: DefinitionsDiff): string {
  const out: string[] = [`### Tally: metric changes`, '', `From ${mdSide(diff.base)} to ${mdSide(diff.head)}.`, ''];
  const { added, removed, changed, models } = diff;
  if (!added.length && !removed.length && !changed.length) out.push('No metric changed.', '');
  else {
    out.push('| | Metric | What changed |', '| --- | --- | --- |');
    for (const c of changed) out.push(`| changed | ${code(c.metric)} | ${mdCell(reason(c))} |`);
    for (const m of added) out.push(`| added | ${code(m.metric)} | ${mdCell(`${m.type}: ${m.formula}`)} |`);
    for (const m of removed) out.push(`| removed | ${code(m.metric)} | ${mdCell(`${m.type}: ${m.formula}`)} |`);
    out.push('');
    for (const e of diff.experiments ?? []) out.push(`> **Running experiment:** ${code(e.experiment)} (${e.start} to ${e.end}) uses ${e.metrics.map(code).join(', ')}; its criteria were agreed before the start.`, '');
  }
  if (models.added.length + models.removed.length + models.changed.length) out.push(`${modelLine(diff)}.`, '');
  for (const change of changed) {
    out.push(`#### ${code(change.metric)}`, '');
    for (const f of change.fields) out.push(...fieldLines(f));
    if (change.fields.length) out.push('');
    if (change.sqlDiff) out.push(`SQL of ${code(change.requestText)}:`, '', block('diff', change.sqlDiff), '');
    else out.push(`SQL of ${code(change.requestText)}: unchanged.`, '');
    if (change.numbersError) out.push(`The numbers of ${code(change.requestText)} cannot be compared: ${change.numbersError}`, '');
    if (change.numbers) {
      out.push(`How ${code(change.requestText)} moves:`, '');
      out.push(`| ${[keyHeader(change), diff.base.label, diff.head.label, 'change', '% change'].map(mdCell).join(' | ')} |`, '| --- | ---: | ---: | ---: | ---: |');
      for (const r of numberRows(change)) out.push(`| ${r.map(mdCell).join(' | ')} |`);
      out.push('');
    }
  }
  return out.join('\n');
}

function fieldLines(f: FieldChange): string[] {
  return [`- ${code(f.field)}: ${code(value(f.base))} → ${code(value(f.head))}`];
}
