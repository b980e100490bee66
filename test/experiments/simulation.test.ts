/**
 * Seeded simulations: many A/A tests reject at about alpha (and the sequential intervals stay
 * below alpha under repeated looks, where looking at the plain t-test again and again does not);
 * A/B tests with a planted effect, sized by the sample-size calculator, detect it at about the
 * planned power. Pure TypeScript on generated per-unit values reduced to sufficient statistics.
 */
import { describe, expect, it } from 'vitest';
import { meanSummary, type Moments } from '../../src/experiments/stats/moments.js';
import { sampleSizePerVariant } from '../../src/experiments/stats/power.js';
import { sequentialTest } from '../../src/experiments/stats/sequential.js';
import { welchTTest } from '../../src/experiments/stats/welch.js';

function normal(seed: number): () => number {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

const MEAN = 10;
const SD = 3;

function draw(z: () => number, m: Moments, n: number, mean: number): void {
  for (let i = 0; i < n; i++) {
    const x = mean + SD * z();
    m.n += 1;
    m.sum += x;
    m.sumSquares += x * x;
  }
}

/** Bounds that a binomial rate falls in with probability ≈ 1 − 1e-4 (3.9 standard deviations). */
const band = (p: number, trials: number): [number, number] => {
  const sd = Math.sqrt((p * (1 - p)) / trials);
  return [p - 3.9 * sd, p + 3.9 * sd];
};

describe('simulated experiments', () => {
  it('A/A tests reject at about alpha', () => {
    const z = normal(11);
    const alpha = 0.05;
    const trials = 4000;
    let rejected = 0;
    for (let k = 0; k < trials; k++) {
      const a: Moments = { n: 0, sum: 0, sumSquares: 0 };
      const b: Moments = { n: 0, sum: 0, sumSquares: 0 };
      draw(z, a, 200, MEAN);
      draw(z, b, 200, MEAN);
      if ((welchTTest(meanSummary(a), meanSummary(b), { alpha, relative: true })?.pValue ?? 1) < alpha) rejected++;
    }
    const [low, high] = band(alpha, trials);
    expect(rejected / trials).toBeGreaterThan(low);
    expect(rejected / trials).toBeLessThan(high);
  });

  it('sequential intervals keep the false-positive rate below alpha over 20 looks; the plain t-test does not', () => {
    const z = normal(12);
    const alpha = 0.05;
    const trials = 600;
    let sequentialAny = 0;
    let naiveAny = 0;
    for (let k = 0; k < trials; k++) {
      const a: Moments = { n: 0, sum: 0, sumSquares: 0 };
      const b: Moments = { n: 0, sum: 0, sumSquares: 0 };
      let seq = false;
      let naive = false;
      for (let look = 0; look < 20; look++) {
        draw(z, a, 100, MEAN);
        draw(z, b, 100, MEAN);
        const [sa, sb] = [meanSummary(a), meanSummary(b)];
        const s = sequentialTest(sa, sb, { alpha, relative: true });
        if (s && (s.ci[0] > 0 || s.ci[1] < 0)) seq = true;
        if ((welchTTest(sa, sb, { alpha, relative: true })?.pValue ?? 1) < alpha) naive = true;
      }
      if (seq) sequentialAny++;
      if (naive) naiveAny++;
    }
    expect(sequentialAny / trials).toBeLessThan(alpha);
    // Peeking at a fixed-horizon test 20 times inflates its error rate well past alpha.
    expect(naiveAny / trials).toBeGreaterThan(2 * alpha);
  });

  it('A/B tests sized for 80% power detect the planted effect about 80% of the time', () => {
    const z = normal(13);
    const alpha = 0.05;
    const lift = 0.03;
    const n = sampleSizePerVariant({ mean: MEAN, variance: SD * SD, relativeLift: lift, alpha, power: 0.8 });
    const trials = 800;
    let detected = 0;
    for (let k = 0; k < trials; k++) {
      const a: Moments = { n: 0, sum: 0, sumSquares: 0 };
      const b: Moments = { n: 0, sum: 0, sumSquares: 0 };
      draw(z, a, n, MEAN);
      draw(z, b, n, MEAN * (1 + lift));
      const r = welchTTest(meanSummary(a), meanSummary(b), { alpha, relative: true });
      if (r && r.pValue < alpha && r.estimate > 0) detected++;
    }
    const [low, high] = band(0.8, trials);
    expect(detected / trials).toBeGreaterThan(low);
    expect(detected / trials).toBeLessThan(high);
  });
});
