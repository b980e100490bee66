/**
 * Per-variant summaries of a metric from sufficient statistics (n, sums, sums of squares and
 * cross-products of per-unit values): the mean and the variance of one unit's value.
 *
 * Sources: the sample variance from sums (Welford-free form, fine in double precision for these
 * magnitudes); the delta method for a ratio of means (Deng, Knoblich & Lu 2018, "Applying the
 * Delta Method in Metric Analytics", KDD, eq. 2); CUPED's regression adjustment with one θ pooled
 * over the variants (Deng, Xu, Kohavi & Walker 2013, "Improving the Sensitivity of Online
 * Controlled Experiments by Utilizing Pre-Experiment Data", WSDM, section 3.3).
 */

/** n units, the sum and the sum of squares of one per-unit value. */
export interface Moments {
  n: number;
  sum: number;
  sumSquares: number;
}

/** A variant's estimate: the metric's mean and the variance of one unit's contribution. */
export interface Summary {
  n: number;
  /** The estimate (mean per unit, ratio of sums, or CUPED-adjusted mean). */
  mean: number;
  /** The mean before any CUPED adjustment (the base of a relative lift). */
  unadjustedMean: number;
  /** Variance per unit: the estimate's variance is variance / n. */
  variance: number;
}

export const mean = (m: Moments): number => (m.n === 0 ? 0 : m.sum / m.n);

/** The sample variance (n - 1 in the denominator); 0 for fewer than two units. */
export function sampleVariance(m: Moments): number {
  if (m.n <= 1) return 0;
  return Math.max(0, (m.sumSquares - (m.sum * m.sum) / m.n) / (m.n - 1));
}

/** The sample covariance of two per-unit values from their sums and the sum of their products. */
export function sampleCovariance(n: number, sumX: number, sumY: number, sumXY: number): number {
  if (n <= 1) return 0;
  return (sumXY - (sumX * sumY) / n) / (n - 1);
}

/** A mean per unit (simple metrics; conversion metrics are a mean of 0/1). */
export function meanSummary(m: Moments): Summary {
  const mu = mean(m);
  return { n: m.n, mean: mu, unadjustedMean: mu, variance: sampleVariance(m) };
}

/**
 * A ratio of sums (Σ numerator / Σ denominator) with the delta-method variance per unit:
 * var(N)/μd² − 2·cov(N,D)·μn/μd³ + μn²·var(D)/μd⁴.
 */
export function ratioSummary(numerator: Moments, denominator: Moments, sumProducts: number): Summary {
  const n = numerator.n;
  const mn = mean(numerator);
  const md = mean(denominator);
  if (md === 0 || n <= 1) return { n, mean: 0, unadjustedMean: 0, variance: 0 };
  const cov = sampleCovariance(n, numerator.sum, denominator.sum, sumProducts);
  const variance = sampleVariance(numerator) / md ** 2 - (2 * cov * mn) / md ** 3 + (mn ** 2 * sampleVariance(denominator)) / md ** 4;
  return { n, mean: numerator.sum / denominator.sum, unadjustedMean: numerator.sum / denominator.sum, variance: Math.max(0, variance) };
}

/** Post-period moments, pre-period (covariate) moments and Σ post·pre, for one variant. */
export interface CupedMoments {
  post: Moments;
  pre: Moments;
  sumProducts: number;
}

/**
 * θ = cov(post, pre) / var(pre) over all units of all variants (one θ for every variant keeps
 * the adjusted difference unbiased); 0 when either has no variance.
 */
export function cupedTheta(variants: CupedMoments[]): number {
  const n = variants.reduce((s, v) => s + v.post.n, 0);
  const add = (pick: (v: CupedMoments) => Moments): Moments => ({
    n,
    sum: variants.reduce((s, v) => s + pick(v).sum, 0),
    sumSquares: variants.reduce((s, v) => s + pick(v).sumSquares, 0),
  });
  const post = add((v) => v.post);
  const pre = add((v) => v.pre);
  const preVariance = sampleVariance(pre);
  if (preVariance === 0 || sampleVariance(post) === 0) return 0;
  const cov = sampleCovariance(n, post.sum, pre.sum, variants.reduce((s, v) => s + v.sumProducts, 0));
  return cov / preVariance;
}

/**
 * The CUPED-adjusted mean ȳ − θ·x̄ with variance var(y) + θ²·var(x) − 2θ·cov(x, y). The
 * difference between variants is the same as with Deng et al.'s ȳ − θ(x̄ − E[x]), since E[x]
 * cancels.
 */
export function cupedSummary(v: CupedMoments, theta: number): Summary {
  const n = v.post.n;
  const cov = sampleCovariance(n, v.post.sum, v.pre.sum, v.sumProducts);
  const variance = sampleVariance(v.post) + theta ** 2 * sampleVariance(v.pre) - 2 * theta * cov;
  return { n, mean: mean(v.post) - theta * mean(v.pre), unadjustedMean: mean(v.post), variance: n <= 1 ? 0 : Math.max(0, variance) };
}
