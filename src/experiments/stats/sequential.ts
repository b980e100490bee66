/**
 * Always-valid (sequential) confidence intervals and p-values, safe to look at any number of
 * times before the end: the asymptotic confidence sequence of Waudby-Smith, Arbour, Sinha,
 * Kennedy & Ramdas (2023), "Time-uniform central limit theory and asymptotic confidence
 * sequences", eq. 9 (width) and eq. 155 (the e-value behind the p-value), with the mixing
 * parameter ρ chosen for a planned number of units (their eq. 161). The construction is the
 * normal-mixture boundary of Howard, Ramdas, McAuliffe & Sekhon (2021), Annals of Statistics.
 * GrowthBook's SequentialTwoSidedTTest computes the same quantities.
 */
import type { Summary } from './moments.js';
import { liftVariance, type Effect } from './welch.js';

/** The mixing parameter ρ that makes the sequence tightest near `tuning` units. */
export function mixingParameter(alpha: number, tuning: number): number {
  return Math.sqrt((-2 * Math.log(alpha) + Math.log(-2 * Math.log(alpha) + 1)) / tuning);
}

/**
 * The sequential test of treatment against control. `tuning` is the number of units around which
 * the interval is tightest (GrowthBook's default is 5000).
 */
export function sequentialTest(control: Summary, treatment: Summary, options: { alpha: number; relative: boolean; tuning?: number }): Effect | undefined {
  if (control.n < 2 || treatment.n < 2) return undefined;
  if (options.relative && control.unadjustedMean === 0) return undefined;
  const variance = liftVariance(control, treatment, options.relative);
  if (!(variance > 0)) return undefined;
  const diff = treatment.mean - control.mean;
  const estimate = options.relative ? diff / control.unadjustedMean : diff;
  const n = control.n + treatment.n;
  const rho = mixingParameter(options.alpha, options.tuning ?? 5000);
  const s2 = variance * n;
  const tr2p1 = n * rho ** 2 + 1;
  const width = Math.sqrt(s2) * Math.sqrt((2 * tr2p1 * Math.log(Math.sqrt(tr2p1) / options.alpha)) / (n * rho) ** 2);
  const st2 = (estimate ** 2 * n) / variance;
  const evalue = Math.exp((rho ** 2 * st2) / (2 * tr2p1)) / Math.sqrt(tr2p1);
  return { estimate, standardError: Math.sqrt(variance), ci: [estimate - width, estimate + width], pValue: Math.min(1, 1 / evalue), dof: Infinity };
}
