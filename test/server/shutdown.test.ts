/**
 * `tally serve` stopped with SIGTERM while a long statement runs: the statement is cancelled, the
 * database closed and the process exits — it does not wait for the statement (which would run
 * until its 10-minute timeout here). Shown by the order of events in the server's log.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoDatabase } from '../../src/seed/demo.js';

const dir = mkdtempSync(join(tmpdir(), 'tally-stop-'));
beforeAll(async () => {
  await seedDemoDatabase(join(dir, 'demo.duckdb'), { events: 2_000 });
  cpSync('metrics', join(dir, 'metrics'), { recursive: true });
  // Limits raised so that a statement runs for minutes: a millisecond-grain offset spine.
  writeFileSync(
    join(dir, 'tally.yml'),
    `engine: { type: duckdb, path: demo.duckdb }\nauth: { anonymous: true }\nlimits:\n  max_spine_periods: 1000000000000000\n  query_timeout_ms: 600000\n  engine_threads: 1\n  engine_memory_limit: 512MB\n`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tally serve and SIGTERM', () => {
  it('cancels the running statement and exits', async () => {
    const child = spawn('node', ['bin/tally.js', '--project', dir, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 1200 && !/Open the API/.test(output); i++) await new Promise((r) => setTimeout(r, 50));
      const url = /at (http:\/\/[^\s"]+\/graphql)/.exec(output)?.[1];
      expect(url, output).toBeDefined();
      const answer = fetch(url!, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ query(metrics: ["revenue_growth_mom"], groupBy: ["metric_time.millisecond"]) { rows } }' }),
      }).then(
        (r) => `answered ${r.status}`,
        () => 'connection closed',
      );
      // The statement is running: no answer yet after a while.
      const early = await Promise.race([answer, new Promise((r) => setTimeout(() => r('still running'), 1_500))]);
      expect(early).toBe('still running');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(await answer).toBe('connection closed');
      const lines = output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string });
      const messages = lines.map((l) => l.msg);
      expect(messages).toContain('SIGTERM: stopping');
      // Stopped cleanly (not by the 5-second fallback exit), after the statement was cancelled.
      expect(messages[messages.length - 1]).toMatch(/^stopped: every statement cancelled/);
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);
});
