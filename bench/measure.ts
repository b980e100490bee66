/** Timing helpers: medians of repeated runs, measured side by side. */
import { performance } from 'node:perf_hooks';
import type { Cell } from '../src/index.js';

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function timeSync(fn: () => unknown, { runs = 50, warmup = 5 } = {}): number {
  for (let i = 0; i < warmup; i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  return median(samples);
}

/** Runs the contenders in turn, round after round, so that machine noise hits all of them alike. */
export async function timeSideBySide(contenders: Record<string, () => Promise<unknown>>, { runs = 3, warmup = 1 } = {}): Promise<Record<string, number>> {
  const names = Object.keys(contenders);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < warmup + runs; round++) {
    for (const name of names) {
      const t = performance.now();
      await contenders[name]();
      if (round >= warmup) samples[name].push(performance.now() - t);
    }
  }
  return Object.fromEntries(names.map((n) => [n, median(samples[n])]));
}

/** Rows as comparable text: doubles to 9 significant digits, everything else exactly. */
export function canonical(rows: Cell[][]): string[] {
  return rows
    .map((r) =>
      JSON.stringify(
        r.map((c) => (typeof c === 'number' && !Number.isInteger(c) ? Number(c.toPrecision(9)) : typeof c === 'bigint' ? c.toString() : c === null ? null : typeof c === 'number' ? c : String(c))),
      ),
    )
    .sort();
}

export interface Row {
  section: string;
  measure: string;
  value: string;
  target: string;
  met: boolean | undefined;
}

export function printTable(rows: Row[]): void {
  const headers = ['section', 'measure', 'value', 'target', 'met'];
  const cells = rows.map((r) => [r.section, r.measure, r.value, r.target, r.met === undefined ? '' : r.met ? 'yes' : 'NO']);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]): string => c.map((v, i) => v.padEnd(widths[i])).join(' | ');
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const c of cells) console.log(line(c));
}

export const ms = (v: number): string => (v < 1 ? `${(v * 1000).toFixed(0)} µs` : v < 1000 ? `${v.toFixed(1)} ms` : `${(v / 1000).toFixed(2)} s`);
