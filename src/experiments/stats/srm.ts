/**
 * Sample-ratio mismatch: Pearson's chi-square goodness-of-fit test of the units per variant
 * against the planned split (Fabijan et al. 2019, "Diagnosing Sample Ratio Mismatch in Online
 * Controlled Experiments", KDD). A p-value below 0.001 means the assignment itself is broken,
 * so no metric comparison can be trusted.
 */
import { chiSquareSurvival } from './distributions.js';

/** The SRM threshold used in the field (Fabijan et al.; GrowthBook and Optimizely use it too). */
export const SRM_THRESHOLD = 0.001;

export interface SrmResult {
  chiSquare: number;
  dof: number;
  pValue: number;
  /** Expected units per variant under the planned split. */
  expected: number[];
  mismatch: boolean;
}

/** `observed[i]` units against weights `planned[i]` (any positive weights). */
export function sampleRatioMismatch(observed: number[], planned: number[], threshold = SRM_THRESHOLD): SrmResult {
  const total = observed.reduce((a, b) => a + b, 0);
  const weight = planned.reduce((a, b) => a + b, 0);
  const expected = planned.map((w) => (w / weight) * total);
  const chiSquare = total === 0 ? 0 : observed.reduce((s, o, i) => s + (o - expected[i]) ** 2 / expected[i], 0);
  const dof = observed.length - 1;
  const pValue = total === 0 ? 1 : chiSquareSurvival(chiSquare, dof);
  return { chiSquare, dof, pValue, expected, mismatch: pValue < threshold };
}
