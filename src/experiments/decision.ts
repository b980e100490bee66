/**
 * The launch decision by the criteria agreed before the start (`success:` of the experiment):
 * invalid when the assignment is broken (SRM) or a guardrail is significantly harmed; ship when
 * every primary metric moved the desired way, significantly after the correction and by at least
 * the minimum effect; don't ship when a primary metric moved the wrong way, or its interval
 * rules out the minimum effect, or the test ended without a conclusive result; otherwise keep
 * running. Guardrails are harmed when they move against the desired direction of the primaries.
 */
import type { ExperimentDef } from './schema.js';
import type { MetricResult } from './readout.js';
import type { SrmResult } from './stats/srm.js';

export type Verdict = 'ship' | 'dont_ship' | 'keep_running' | 'invalid';

export interface Decision {
  verdict: Verdict;
  /** Why, in a sentence that names the metrics and numbers it rests on. */
  reason: string;
  /** The treatment variant the verdict is about (the best one when there are several). */
  variant?: string;
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const interval = (r: MetricResult): string => (r.relative ? `${pct(r.relative.estimate)} [${pct(r.relative.ci[0])}, ${pct(r.relative.ci[1])}]` : 'not computable');

export function decide(def: ExperimentDef, srm: SrmResult, results: MetricResult[], now: Date): Decision {
  if (srm.mismatch) {
    return { verdict: 'invalid', reason: `sample-ratio mismatch: the units per variant differ from the planned split (chi-square ${srm.chiSquare.toFixed(2)}, p = ${srm.pValue.toExponential(2)} < 0.001); the assignment is broken, so no metric can be trusted` };
  }
  const up = def.success.direction === 'increase';
  const good = (x: number): boolean => (up ? x > 0 : x < 0);
  const variants = [...new Set(results.map((r) => r.variant))];
  const ended = now.getTime() >= Date.parse(`${def.end.slice(0, 10)}T00:00:00Z`);
  const decisions: Decision[] = [];
  for (const variant of variants) {
    const mine = results.filter((r) => r.variant === variant);
    const harmed = mine.filter((r) => r.role === 'guardrail' && r.relative && (up ? r.relative.ci[1] < 0 : r.relative.ci[0] > 0));
    if (harmed.length) {
      decisions.push({ variant, verdict: 'invalid', reason: `guardrail breached in '${variant}': ${harmed.map((r) => `${r.metric} ${interval(r)}`).join('; ')}` });
      continue;
    }
    const primaries = mine.filter((r) => r.role === 'primary');
    const missing = primaries.filter((r) => !r.relative);
    if (missing.length) {
      decisions.push({ variant, verdict: ended ? 'dont_ship' : 'keep_running', reason: `no estimate yet for ${missing.map((r) => r.metric).join(', ')} in '${variant}' (too few units or no variance)` });
      continue;
    }
    const significant = (r: MetricResult): boolean => (r.adjustedPValue ?? 1) < def.success.alpha;
    const min = def.success.minimum_effect;
    const wrong = primaries.filter((r) => significant(r) && !good(r.relative?.estimate ?? 0));
    const tooSmall = primaries.filter((r) => r.relative && (up ? r.relative.ci[1] < min : r.relative.ci[0] > -min));
    const wins = primaries.filter((r) => significant(r) && good(r.relative?.estimate ?? 0) && Math.abs(r.relative?.estimate ?? 0) >= min);
    const list = (rs: MetricResult[]): string => rs.map((r) => `${r.metric} ${interval(r)}, adjusted p = ${(r.adjustedPValue ?? 1).toPrecision(3)}`).join('; ');
    if (wrong.length) decisions.push({ variant, verdict: 'dont_ship', reason: `'${variant}' moved ${list(wrong)} the wrong way` });
    else if (wins.length === primaries.length) decisions.push({ variant, verdict: 'ship', reason: `'${variant}' ${up ? 'raised' : 'lowered'} every primary metric by at least ${pct(min)}: ${list(wins)}` });
    else if (tooSmall.length) decisions.push({ variant, verdict: 'dont_ship', reason: `'${variant}': the interval rules out the minimum effect of ${pct(min)} for ${list(tooSmall)}` });
    else if (ended) decisions.push({ variant, verdict: 'dont_ship', reason: `'${variant}' ended without a conclusive effect of at least ${pct(min)}: ${list(primaries)}` });
    else decisions.push({ variant, verdict: 'keep_running', reason: `'${variant}' is not conclusive yet: ${list(primaries)}` });
  }
  const order: Record<Verdict, number> = { invalid: 0, ship: 1, keep_running: 2, dont_ship: 3 };
  decisions.sort((a, b) => order[a.verdict] - order[b.verdict]);
  return decisions[0] ?? { verdict: 'keep_running', reason: 'no treatment variant has units yet' };
}
