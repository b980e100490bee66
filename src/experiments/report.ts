/**
 * A readout for people (a table for the terminal, Markdown for a pull request or a wiki) and for
 * programs (JSON: every number at full precision, non-finite values as null).
 */
import type { Readout } from './readout.js';
import type { Effect } from './stats/welch.js';

const VERDICT: Record<Readout['decision']['verdict'], string> = { ship: 'SHIP', dont_ship: "DON'T SHIP", keep_running: 'KEEP RUNNING', invalid: 'INVALID' };

const pct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}%`);
const num = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : Math.abs(x) >= 100 ? x.toFixed(2) : x.toPrecision(4));
const ci = (e: Effect | undefined, f: (x: number) => string): string => (e ? `[${f(e.ci[0])}, ${f(e.ci[1])}]` : '–');
const p = (x: number | undefined): string => (x === undefined ? '–' : x < 1e-4 ? x.toExponential(1) : x.toFixed(4));

/** The readout as JSON text (the audit record included). */
export function readoutJson(r: Readout): string {
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
}

function rows(r: Readout): string[][] {
  return r.metrics.map((m) => [
    m.metric + (m.cuped ? ' (CUPED)' : ''),
    m.role,
    m.variant,
    num(m.control.value),
    num(m.treatment.value),
    pct(m.relative?.estimate),
    ci(m.relative, pct),
    num(m.absolute?.estimate),
    ci(m.absolute, num),
    p(m.adjustedPValue),
  ]);
}

const HEAD = ['metric', 'role', 'variant', 'control', 'treatment', 'lift', `CI`, 'abs. diff', 'abs. CI', 'adj. p'];

function lines(r: Readout, markdown: boolean): string[] {
  const e = r.experiment;
  const out: string[] = [];
  const level = (n: number): string => (markdown ? `${'#'.repeat(n)} ` : '');
  out.push(`${level(1)}Experiment ${e.name}: ${VERDICT[r.decision.verdict]}`);
  out.push('', `${markdown ? '**Decision:** ' : 'decision: '}${VERDICT[r.decision.verdict]}: ${r.decision.reason}`);
  if (e.hypothesis) out.push(`${markdown ? '**Hypothesis:** ' : 'hypothesis: '}${e.hypothesis}`);
  out.push(`${markdown ? '**Criteria:** ' : 'criteria: '}${e.success.direction} by at least ${pct(e.success.minimum_effect)}, alpha ${e.success.alpha}, ${e.success.correction} correction across primary metrics, ${e.success.sequential ? 'sequential (always-valid) intervals' : "Welch's t-test"}; ${e.start} to ${e.end}${e.attribution_window ? `, attribution window ${e.attribution_window}` : ''}`);
  out.push('', `${level(2)}Variants`, '');
  const vrows = r.variants.map((v) => [v.variant, String(v.units), `${(v.plannedShare * 100).toFixed(1)}%`, `${(v.observedShare * 100).toFixed(2)}%`]);
  out.push(...table(['variant', 'units', 'planned', 'observed'], vrows, markdown));
  out.push('', `SRM check: chi-square ${r.srm.chiSquare.toFixed(3)}, p = ${p(r.srm.pValue)}${r.srm.mismatch ? ' (MISMATCH: p < 0.001)' : ' (ok)'}`);
  out.push('', `${level(2)}Metrics`, '');
  out.push(...table(HEAD, rows(r), markdown));
  if (r.preAgreement.length) {
    out.push('', `${level(2)}Changed after the start`, '');
    for (const c of r.preAgreement) out.push(`${markdown ? '- ' : '  '}${c.commit} (${c.date.slice(0, 10)}) "${c.subject}" changed ${c.metrics.join(', ')}`);
  }
  out.push('', `version ${r.version}${r.commit ? ` (commit ${r.commit})` : ''}; tables read: ${[...new Set(r.lineage.flatMap((l) => ('tables' in l ? (l as { tables: string[] }).tables : [])))].join(', ') || 'see --format json'}`);
  return out;
}

function table(head: string[], body: string[][], markdown: boolean): string[] {
  if (markdown) return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...body.map((r) => `| ${r.join(' | ')} |`)];
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
}

export function readoutTable(r: Readout): string {
  return lines(r, false).join('\n') + '\n';
}

export function readoutMarkdown(r: Readout): string {
  return lines(r, true).join('\n') + '\n';
}
