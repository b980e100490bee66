/**
 * The definitions layer depends on no layer above it (issue 14: definitions → query → planner →
 * sql → engines, with checks, rollups, api, cli and web on top): every import of a file in
 * src/definitions/ is a package, a file beside it, or one of the few shared modules listed here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DIR = 'src/definitions';
// errors.ts is shared by every layer; experiments/schema.ts is the zod schema of `experiments:` blocks.
const SHARED = new Set(['../errors.js', '../experiments/schema.js']);

describe('layering', () => {
  it('src/definitions imports nothing from the layers above it', () => {
    const upward: string[] = [];
    for (const file of readdirSync(DIR).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(join(DIR, file), 'utf8');
      for (const [, spec] of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)) {
        if (spec.startsWith('./') || !spec.startsWith('.') || SHARED.has(spec)) continue;
        upward.push(`${file}: ${spec}`);
      }
    }
    expect(upward).toEqual([]);
  });
});
