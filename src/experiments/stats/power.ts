/**
 * Sample size and power for a two-sided test of a relative lift, with the normal approximation
 * (e.g. Kohavi, Tang & Xu 2020, "Trustworthy Online Controlled Experiments", ch. 17; van Belle's
 * rule n = 16σ²/δ² is its α = 0.05, power = 0.8 case): per variant
 * n = (z₁₋α/₂ + z_power)² · (σc² + σt²) / δ², with δ = lift · mean and equal variances assumed.
 */
import { standardNormalCdf, standardNormalQuantile } from './distributions.js';

export interface PowerInput {
  /** The control's mean per unit. */
  mean: number;
  /** The variance of one unit's value. */
  variance: number;
  /** The relative lift to detect (0.02 = 2 %). */
  relativeLift: number;
  alpha: number;
}

/** Units needed per variant (equal split) to detect the lift with the given power. */
export function sampleSizePerVariant(input: PowerInput & { power: number }): number {
  const delta = input.relativeLift * input.mean;
  if (delta === 0) return Infinity;
  const z = standardNormalQuantile(1 - input.alpha / 2) + standardNormalQuantile(input.power);
  return Math.ceil((z ** 2 * 2 * input.variance) / delta ** 2);
}

/** The power of the two-sided test with `n` units per variant (both tails counted). */
export function powerAt(input: PowerInput & { n: number }): number {
  const delta = Math.abs(input.relativeLift * input.mean);
  const se = Math.sqrt((2 * input.variance) / input.n);
  const z = standardNormalQuantile(1 - input.alpha / 2);
  return standardNormalCdf(delta / se - z) + standardNormalCdf(-delta / se - z);
}
