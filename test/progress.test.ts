/** Progress reporting: rewritten in place on a terminal, one line per step when forced, silent otherwise. */
import { describe, expect, it } from 'vitest';
import { progressReporter } from '../src/cli/progress.js';

function stream(isTTY: boolean): { isTTY: boolean; text: string; write(t: string): void } {
  return { isTTY, text: '', write(t: string) { this.text += t; } };
}

describe('progressReporter', () => {
  it('writes nothing off a terminal unless forced', () => {
    const s = stream(false);
    const p = progressReporter('seed', { stream: s });
    p.step(1, 2, 'users');
    p.end();
    expect(s.text).toBe('');
  });

  it('writes one line per step when forced', () => {
    const s = stream(false);
    const p = progressReporter('seed', { stream: s, forced: true });
    p.step(1, 2, 'users');
    p.step(2, 2, 'events');
    p.end();
    expect(s.text.replace(/ \(\d+\.\d s\)/g, '')).toBe('seed: 1/2 users\nseed: 2/2 events\n');
  });

  it('rewrites one line on a terminal and clears it at the end', () => {
    const s = stream(true);
    const p = progressReporter('seed', { stream: s });
    p.step(1, 2, 'users');
    p.end();
    expect(s.text.replace(/ \(\d+\.\d s\)/g, '')).toBe('\r\x1b[Kseed: 1/2 users\r\x1b[K');
  });
});
