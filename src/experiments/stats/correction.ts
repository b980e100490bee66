/**
 * Multiple-testing corrections across an experiment's metrics, as adjusted p-values:
 * Holm's step-down procedure controls the family-wise error rate (Holm 1979, "A simple
 * sequentially rejective multiple test procedure", Scand. J. Statistics 6); Benjamini–Hochberg
 * controls the false discovery rate (Benjamini & Hochberg 1995, JRSS B 57). Both match
 * statsmodels' multipletests ('holm', 'fdr_bh').
 */

export type Correction = 'holm' | 'benjamini_hochberg' | 'none';

/** Adjusted p-values in the input's order. */
export function adjustPValues(pValues: number[], method: Correction): number[] {
  const m = pValues.length;
  if (method === 'none' || m <= 1) return [...pValues];
  const order = pValues.map((p, i) => ({ p, i }));
  const out = new Array<number>(m);
  if (method === 'holm') {
    order.sort((a, b) => a.p - b.p);
    let running = 0;
    order.forEach(({ p, i }, k) => {
      running = Math.max(running, Math.min(1, (m - k) * p));
      out[i] = running;
    });
    return out;
  }
  order.sort((a, b) => b.p - a.p);
  let running = 1;
  order.forEach(({ p, i }, k) => {
    const rank = m - k;
    running = Math.min(running, (m / rank) * p);
    out[i] = Math.min(1, running);
  });
  return out;
}
