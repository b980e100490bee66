/**
 * The distributions the statistics need, from stdlib (@stdlib/stats-base-dists-*): small,
 * single-purpose, typed and maintained packages with accurate tails (jstat, the other candidate,
 * has had no release since 2019). Only this module imports them.
 */
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

/** P(T <= x) for Student's t with `dof` degrees of freedom. */
export const studentTCdf = (x: number, dof: number): number => tCdf(x, dof);
/** The p-quantile of Student's t with `dof` degrees of freedom. */
export const studentTQuantile = (p: number, dof: number): number => tQuantile(p, dof);
/** P(Z <= x) for the standard normal. */
export const standardNormalCdf = (x: number): number => normalCdf(x, 0, 1);
/** The p-quantile of the standard normal. */
export const standardNormalQuantile = (p: number): number => normalQuantile(p, 0, 1);
/** P(X > x) for chi-square with `dof` degrees of freedom. */
export const chiSquareSurvival = (x: number, dof: number): number => 1 - chisquareCdf(x, dof);
