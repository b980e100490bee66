/**
 * Lift of a treatment over the control with a confidence interval: Welch's unequal-variance
 * t-test (Welch 1947, "The generalization of Student's problem when several different population
 * variances are involved", Biometrika 34) with the Welch–Satterthwaite degrees of freedom. The
 * relative lift (treatment − control) / control uses the delta method for its variance
 * (Deng, Knoblich & Lu 2018, section 3.2), as GrowthBook's frequentist engine does.
 */
import { studentTCdf, studentTQuantile } from './distributions.js';
import type { Summary } from './moments.js';

/** An effect estimate with its interval; absolute in the metric's unit, relative as a fraction. */
export interface Effect {
  estimate: number;
  standardError: number;
  /** Two-sided interval at 1 − alpha. */
  ci: [number, number];
  pValue: number;
  dof: number;
}

/** Welch–Satterthwaite degrees of freedom. */
export function welchDof(control: Summary, treatment: Summary): number {
  const a = control.variance / control.n;
  const b = treatment.variance / treatment.n;
  return (a + b) ** 2 / (a ** 2 / (control.n - 1) + b ** 2 / (treatment.n - 1));
}

/** The variance of the estimated difference (absolute) or of the relative lift (delta method). */
export function liftVariance(control: Summary, treatment: Summary, relative: boolean): number {
  if (!relative) return control.variance / control.n + treatment.variance / treatment.n;
  const c = control.unadjustedMean;
  return treatment.variance / (c ** 2 * treatment.n) + (control.variance * treatment.unadjustedMean ** 2) / (c ** 4 * control.n);
}

/**
 * The two-sided t-test of treatment against control. Undefined when it cannot be computed (fewer
 * than two units in a variant, no variance, or a control mean of 0 for a relative lift).
 */
export function welchTTest(control: Summary, treatment: Summary, options: { alpha: number; relative: boolean }): Effect | undefined {
  if (control.n < 2 || treatment.n < 2) return undefined;
  if (options.relative && control.unadjustedMean === 0) return undefined;
  const variance = liftVariance(control, treatment, options.relative);
  if (!(variance > 0)) return undefined;
  const diff = treatment.mean - control.mean;
  const estimate = options.relative ? diff / control.unadjustedMean : diff;
  const se = Math.sqrt(variance);
  const dof = welchDof(control, treatment);
  const width = studentTQuantile(1 - options.alpha / 2, dof) * se;
  const pValue = 2 * (1 - studentTCdf(Math.abs(estimate / se), dof));
  return { estimate, standardError: se, ci: [estimate - width, estimate + width], pValue, dof };
}
