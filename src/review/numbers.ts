/**
 * How a number moved between two versions: the change exactly (DECIMAL sums arrive as decimal
 * strings and big counts as bigints, so the difference is computed on scaled integers) and the
 * change in percent, which is for reading and so may round.
 */
import type { Cell } from '../engines/engine.js';

interface Exact {
  units: bigint;
  scale: number;
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

function exact(value: Cell): Exact | undefined {
  if (typeof value === 'bigint') return { units: value, scale: 0 };
  if (typeof value === 'number') return Number.isSafeInteger(value) ? { units: BigInt(value), scale: 0 } : undefined;
  if (typeof value !== 'string') return undefined;
  const m = DECIMAL.exec(value);
  if (!m) return undefined;
  const fraction = m[3] ?? '';
  const units = BigInt(m[2] + fraction);
  return { units: m[1] ? -units : units, scale: fraction.length };
}

function toText({ units, scale }: Exact): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const body = scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return negative ? `-${body}` : body;
}

function toNumber(value: Cell): number | undefined {
  if (value === null || typeof value === 'boolean') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** after − before: exact when both are exact numbers, a float otherwise, null when either is missing. */
export function subtract(after: Cell, before: Cell): Cell {
  const [x, y] = [exact(after), exact(before)];
  if (x && y) {
    const scale = Math.max(x.scale, y.scale);
    const up = (e: Exact): bigint => e.units * 10n ** BigInt(scale - e.scale);
    const units = up(x) - up(y);
    // Decimal strings stay decimal strings; integers are numbers while they fit, bigints beyond.
    if (typeof after === 'string' || typeof before === 'string') return toText({ units, scale });
    return units >= BigInt(Number.MIN_SAFE_INTEGER) && units <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(units) : units;
  }
  const [a, b] = [toNumber(after), toNumber(before)];
  return a === undefined || b === undefined ? null : a - b;
}

/** (after − before) / |before| in percent, to one decimal; null when before is 0 or either is missing. */
export function percentChange(before: Cell, after: Cell): number | null {
  const [b, a] = [toNumber(before), toNumber(after)];
  if (a === undefined || b === undefined || b === 0) return null;
  return Math.round(((a - b) / Math.abs(b)) * 1000) / 10;
}
