/**
 * Each statistic equals an independent implementation fed the same sufficient statistics:
 * GrowthBook's gbstats (Welch t, delta method for ratios and relative lift, CUPED, sequential
 * intervals, SRM), scipy (Welch's p-value) and statsmodels (Holm, Benjamini–Hochberg, power).
 * They run in a test-only Python venv (test/helpers/experiments-pyenv.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { adjustPValues } from '../../src/experiments/stats/correction.js';
import { type CupedMoments, cupedSummary, cupedTheta, meanSummary, type Moments, ratioSummary } from '../../src/experiments/stats/moments.js';
import { sampleSizePerVariant } from '../../src/experiments/stats/power.js';
import { sequentialTest } from '../../src/experiments/stats/sequential.js';
import { sampleRatioMismatch } from '../../src/experiments/stats/srm.js';
import { type Effect, welchTTest } from '../../src/experiments/stats/welch.js';
import { experimentsPython, independentAnswers } from '../helpers/experiments-pyenv.js';

interface TestAnswer {
  estimate: number;
  ci: [number, number];
  pValue: number;
}
type PairAnswer = Record<'relative' | 'absolute' | 'sequential_relative' | 'sequential_absolute', TestAnswer> & { theta?: number };

/** A deterministic generator, so the cases are the same on every run. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Sufficient statistics of n generated per-unit values (a skewed, revenue-like metric). */
function moments(rand: () => number, n: number, scale: number): Moments {
  let sum = 0;
  let sumSquares = 0;
  for (let i = 0; i < n; i++) {
    const x = rand() < 0.4 ? 0 : -Math.log(1 - rand()) * scale;
    sum += x;
    sumSquares += x * x;
  }
  return { n, sum, sumSquares };
}

function pairs(rand: () => number, n: number, scale: number): { num: Moments; den: Moments; cross: number } {
  const num = { n, sum: 0, sumSquares: 0 };
  const den = { n, sum: 0, sumSquares: 0 };
  let cross = 0;
  for (let i = 0; i < n; i++) {
    const d = 1 + Math.floor(rand() * 4);
    let m = 0;
    for (let k = 0; k < d; k++) m += rand() < 0.3 ? 1 : 0;
    m *= scale;
    num.sum += m;
    num.sumSquares += m * m;
    den.sum += d;
    den.sumSquares += d * d;
    cross += m * d;
  }
  return { num, den, cross };
}

function cuped(rand: () => number, n: number, lift: number): CupedMoments {
  const v: CupedMoments = { post: { n, sum: 0, sumSquares: 0 }, pre: { n, sum: 0, sumSquares: 0 }, sumProducts: 0 };
  for (let i = 0; i < n; i++) {
    const pre = -Math.log(1 - rand()) * 10;
    const post = 0.7 * pre + -Math.log(1 - rand()) * 4 * lift;
    v.post.sum += post;
    v.post.sumSquares += post * post;
    v.pre.sum += pre;
    v.pre.sumSquares += pre * pre;
    v.sumProducts += post * pre;
  }
  return v;
}

const close = (mine: Effect | undefined, theirs: TestAnswer): void => {
  expect(mine).toBeDefined();
  if (!mine) return;
  expect(mine.estimate).toBeCloseTo(theirs.estimate, 10);
  expect(mine.ci[0]).toBeCloseTo(theirs.ci[0], 8);
  expect(mine.ci[1]).toBeCloseTo(theirs.ci[1], 8);
  expect(Math.abs(mine.pValue - theirs.pValue)).toBeLessThan(1e-9);
};

let python: string | undefined;
beforeAll(() => {
  const env = experimentsPython();
  if ('skip' in env) console.warn(`skipping the comparisons with gbstats/scipy/statsmodels: ${env.skip}`);
  else python = env.python;
}, 900_000);

describe('experiment statistics against gbstats, scipy and statsmodels', () => {
  it('mean metrics: Welch t (absolute), delta-method relative lift, sequential intervals', (ctx) => {
    if (!python) return ctx.skip();
    const rand = random(1);
    const cases = [50, 400, 3000, 20000].map((n, i) => ({ kind: 'mean', alpha: [0.05, 0.1, 0.01, 0.05][i], control: moments(rand, n, 20), treatment: moments(rand, Math.round(n * 1.1), 21 + i) }));
    const answers = independentAnswers<PairAnswer>(python, cases);
    cases.forEach((c, i) => {
      const [a, b] = [meanSummary(c.control), meanSummary(c.treatment)];
      close(welchTTest(a, b, { alpha: c.alpha, relative: true }), answers[i].relative);
      close(welchTTest(a, b, { alpha: c.alpha, relative: false }), answers[i].absolute);
      close(sequentialTest(a, b, { alpha: c.alpha, relative: true }), answers[i].sequential_relative);
      close(sequentialTest(a, b, { alpha: c.alpha, relative: false }), answers[i].sequential_absolute);
    });
    const scipy = independentAnswers<{ pValue: number }>(python, cases.map((c) => ({ ...c, kind: 'welch_scipy' })));
    cases.forEach((c, i) => expect(welchTTest(meanSummary(c.control), meanSummary(c.treatment), { alpha: 0.05, relative: false })?.pValue).toBeCloseTo(scipy[i].pValue, 10));
  });

  it('ratio metrics: the delta method over per-unit numerator and denominator sums', (ctx) => {
    if (!python) return ctx.skip();
    const rand = random(2);
    const cases = [200, 5000].map((n) => ({ kind: 'ratio', alpha: 0.05, control: pairs(rand, n, 10), treatment: pairs(rand, n + 37, 11) }));
    const answers = independentAnswers<PairAnswer>(python, cases);
    cases.forEach((c, i) => {
      const a = ratioSummary(c.control.num, c.control.den, c.control.cross);
      const b = ratioSummary(c.treatment.num, c.treatment.den, c.treatment.cross);
      close(welchTTest(a, b, { alpha: 0.05, relative: true }), answers[i].relative);
      close(welchTTest(a, b, { alpha: 0.05, relative: false }), answers[i].absolute);
    });
  });

  it('CUPED: pooled theta and the regression-adjusted lift', (ctx) => {
    if (!python) return ctx.skip();
    const rand = random(3);
    const cases = [300, 4000].map((n) => ({ kind: 'cuped', alpha: 0.05, control: cuped(rand, n, 1), treatment: cuped(rand, n + 11, 1.05) }));
    const answers = independentAnswers<PairAnswer>(python, cases);
    cases.forEach((c, i) => {
      const theta = cupedTheta([c.control, c.treatment]);
      expect(theta).toBeCloseTo(answers[i].theta ?? NaN, 10);
      const [a, b] = [cupedSummary(c.control, theta), cupedSummary(c.treatment, theta)];
      close(welchTTest(a, b, { alpha: 0.05, relative: true }), answers[i].relative);
      close(welchTTest(a, b, { alpha: 0.05, relative: false }), answers[i].absolute);
      // CUPED narrows the interval when the pre-period explains the metric.
      const plain = welchTTest(meanSummary(c.control.post), meanSummary(c.treatment.post), { alpha: 0.05, relative: false });
      const adjusted = welchTTest(a, b, { alpha: 0.05, relative: false });
      expect((adjusted?.standardError ?? Infinity) < (plain?.standardError ?? 0)).toBe(true);
    });
  });

  it('SRM: chi-square goodness of fit against the planned split', (ctx) => {
    if (!python) return ctx.skip();
    const cases = [
      { kind: 'srm', observed: [5073, 4841], planned: [0.5, 0.5] },
      { kind: 'srm', observed: [2947, 2386], planned: [0.5, 0.5] },
      { kind: 'srm', observed: [1000, 2100, 2950], planned: [1, 2, 3] },
    ];
    const answers = independentAnswers<{ pValue: number }>(python, cases);
    cases.forEach((c, i) => expect(sampleRatioMismatch(c.observed, c.planned).pValue).toBeCloseTo(answers[i].pValue, 12));
    expect(sampleRatioMismatch(cases[0].observed, cases[0].planned).mismatch).toBe(false);
    expect(sampleRatioMismatch(cases[1].observed, cases[1].planned).mismatch).toBe(true);
  });

  it('multiple-testing corrections equal statsmodels multipletests', (ctx) => {
    if (!python) return ctx.skip();
    const pValues = [0.01, 0.04, 0.03, 0.2, 0.0005, 0.04];
    const cases = (['holm', 'benjamini_hochberg'] as const).map((method) => ({ kind: 'correction', method, pValues }));
    const answers = independentAnswers<{ adjusted: number[] }>(python, cases);
    cases.forEach((c, i) => adjustPValues(pValues, c.method).forEach((p, j) => expect(p).toBeCloseTo(answers[i].adjusted[j], 12)));
  });

  it('sample size per variant equals statsmodels NormalIndPower', (ctx) => {
    if (!python) return ctx.skip();
    const cases = [
      { kind: 'power', mean: 1.8, variance: 7.5, relativeLift: 0.05, alpha: 0.05, power: 0.8 },
      { kind: 'power', mean: 0.3, variance: 0.21, relativeLift: 0.02, alpha: 0.01, power: 0.9 },
    ];
    const answers = independentAnswers<{ n: number }>(python, cases);
    cases.forEach((c, i) => expect(sampleSizePerVariant(c)).toBe(Math.ceil(answers[i].n)));
  });
});
