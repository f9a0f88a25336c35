import { describe, expect, it } from 'vitest';
import { quickCheckInputs } from '../../src/core/config/quick-check.js';
import { deriveQuickChecks } from '../../src/core/specs/derive-quick-checks.js';
import { actions } from '../../src/core/specs/index.js';
import { quickChecks } from '../../src/core/specs/quick-checks.js';
import { parseInputs } from '../../src/core/specs/spec.js';

/**
 * The quick checks (run before zod is loaded) against zod itself: whenever the quick checks
 * refuse inputs, parseInputs refuses them with the very same message; whenever parseInputs
 * accepts inputs, the quick checks do too. Inputs come from a pool of good and bad values, one
 * input at a time and in random mixes.
 */
const POOL = [
  '',
  ' ',
  'x',
  'shop',
  'Shop',
  'checkout',
  'web;rm -rf /',
  'a'.repeat(64),
  'a'.repeat(300),
  'istio',
  'nginx',
  'start',
  'deploy',
  'expand',
  'true',
  'maybe',
  '10m',
  '-5m',
  '10,50,100',
  'registry.example.com/checkout:1.25.0',
  'app:$(id)',
  'https://hooks.slack.com/services/T0/B0/x',
  'not a url',
  'xoxb-123-abc',
  'C0123456789',
  'postgresql://app:pw@127.0.0.1:5432/shop',
  'production',
  'run-1',
  'a b',
  'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n',
];

function outcome(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** A small deterministic generator, so a failure can be rerun. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

describe('quick input checks', () => {
  it('are the ones the build derives from the specs (npm run build -- --docs rewrites them)', () => {
    expect(quickChecks).toEqual(deriveQuickChecks(actions.map((a) => a.spec)));
  });

  for (const { spec } of actions) {
    it(`${spec.name}: refuse only what zod refuses, with zod's message`, () => {
      const quick = quickChecks[spec.name]!;
      const names = Object.keys(spec.inputs);
      const cases: Record<string, string>[] = [{}];
      for (const name of names) for (const value of POOL) cases.push({ [name]: value });
      const next = random(spec.name.length);
      for (let i = 0; i < 200; i++) {
        cases.push(Object.fromEntries(names.filter(() => next() < 0.4).map((name) => [name, POOL[Math.floor(next() * POOL.length)]!])));
      }
      let decided = 0;
      for (const raw of cases) {
        const fast = outcome(() => quickCheckInputs(spec.name, quick, raw));
        const full = outcome(() => parseInputs(spec, raw));
        if (fast !== undefined) {
          decided++;
          expect(fast, JSON.stringify(raw)).toBe(full);
        } else if (full === undefined) {
          expect(fast).toBeUndefined();
        }
      }
      // Not a hollow comparison: the quick checks do refuse inputs (all of them missing, at least).
      expect(decided).toBeGreaterThan(0);
    });
  }
});
