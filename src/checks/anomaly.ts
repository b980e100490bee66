/**
 * Anomalies in a daily series, judged against the series' own history: a day's value is compared
 * with the values of the same weekday over the trailing weeks (so a seasonal Monday is compared
 * with Mondays, not with Sundays), using a robust centre and spread:
 *
 *   centre = median of the history
 *   spread = 1.4826 × MAD, the median absolute deviation from that median
 *   anomaly when |value − centre| > k × spread   (k, the sensitivity, 3 by default)
 *
 * This is the Hampel identifier (Hampel 1974, "The influence curve and its role in robust
 * estimation", JASA 69:383–393; the filter form in Pearson et al. 2016, "Generalized Hampel
 * Filters", EURASIP J. Adv. Signal Process. 2016:87) applied per weekday, as recommended by Leys,
 * Ley, Klein, Bernard & Licata (2013), "Detecting outliers: Do not use standard deviation around
 * the mean, use absolute deviation around the median", J. Exp. Soc. Psychol. 49(4):764–766: the
 * median and MAD are barely moved by the outliers they are meant to find, unlike mean and standard
 * deviation. 1.4826 = 1/Φ⁻¹(3/4) makes the MAD estimate the standard deviation of normal data, so
 * k = 3 is the familiar "three sigma" (Leys et al. suggest 2.5 as a moderately conservative
 * choice). When the history has no spread at all (MAD = 0), any value other than the median is
 * an anomaly. Pure functions: the warehouse returns the daily values, nothing else.
 */

/** The median of a non-empty list (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The median absolute deviation from the median (unscaled). */
export function medianAbsoluteDeviation(values: number[]): number {
  const m = median(values);
  return median(values.map((v) => Math.abs(v - m)));
}

/** Makes the MAD a consistent estimator of the standard deviation for normal data: 1/Φ⁻¹(0.75). */
export const MAD_SCALE = 1.4826;

export interface Band {
  centre: number;
  /** MAD × 1.4826. */
  spread: number;
  low: number;
  high: number;
}

/** The band median ± k × 1.4826 × MAD of a history. */
export function hampelBand(history: number[], k: number): Band {
  const centre = median(history);
  const spread = MAD_SCALE * medianAbsoluteDeviation(history);
  return { centre, spread, low: centre - k * spread, high: centre + k * spread };
}

export function outside(value: number, band: Band): boolean {
  return band.spread === 0 ? value !== band.centre : value < band.low || value > band.high;
}

export interface DayJudgement {
  day: string;
  value: number;
  band?: Band;
  /** Same-weekday values the band was learnt from. */
  history: number;
  anomalous: boolean;
}

/** Fewer same-weekday values than this and the day is not judged (no band to learn). */
export const MIN_HISTORY = 3;

/**
 * Judges each of `days` (ISO dates) in a daily series: `valueOf(day)` gives a day's value
 * (missing days: the caller decides, e.g. 0 rows for volume). History: the same weekday 1..weeks
 * weeks earlier.
 */
export function judgeDays(days: string[], valueOf: (day: string) => number | undefined, weeks: number, k: number): DayJudgement[] {
  return days.map((day) => {
    const value = valueOf(day);
    const history: number[] = [];
    for (let w = 1; w <= weeks; w++) {
      const v = valueOf(shiftDay(day, -7 * w));
      if (v !== undefined) history.push(v);
    }
    if (value === undefined || history.length < MIN_HISTORY) return { day, value: value ?? NaN, history: history.length, anomalous: false };
    const band = hampelBand(history, k);
    return { day, value, band, history: history.length, anomalous: outside(value, band) };
  });
}

/** An ISO date moved by a number of days. */
export function shiftDay(day: string, by: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + by);
  return d.toISOString().slice(0, 10);
}

/** The last `periods` complete days before `now` (UTC), oldest first. */
export function lastCompleteDays(now: Date, periods: number): string[] {
  const today = now.toISOString().slice(0, 10);
  return Array.from({ length: periods }, (_, i) => shiftDay(today, -(periods - i)));
}
