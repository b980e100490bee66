// Types of format.js for the TypeScript tests; the page itself loads format.js as it is.
export function isoWeek(year: number, month: number, day: number): { year: number; week: number };
export function periodLabel(text: string | null | undefined, grain: string): string;
export function formatValue(value: unknown): string;
export function formatMetric(value: unknown, format: { kind: string; currency?: string | null; decimals?: number | null } | null | undefined): string;
export function relativeChange(now: unknown, before: unknown): number | null;
export function formatChange(change: number | null | undefined): string;
export function toCsv(columns: string[], rows: Record<string, unknown>[]): string;
export function editDistance(a: string, b: string): number;
export function fuzzyMatches(text: string, words: string[]): boolean;
