import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { quickCheckWithoutFile } from '../../src/core/specs/delivery-file-path.js';
import { parseInputsWithFile } from '../../src/core/specs/delivery-file.js';
import { deriveQuickChecks } from '../../src/core/specs/derive-quick-checks.js';
import { actions } from '../../src/core/specs/index.js';
import { quickChecks } from '../../src/core/specs/quick-checks.js';

/**
 * The quick checks (run before zod is loaded) against zod itself: whenever the quick checks
 * refuse inputs, parseInputs refuses them with the very same message; whenever parseInputs
 * accepts inputs, the quick checks do too. Inputs come from a pool of good and bad values, one
 * input at a time and in random mixes. The actions that read a delivery file are compared with
 * parseInputsWithFile in a workspace without one (the runtime's path when no file exists).
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
  'prometheus:9090',
  'http://127.0.0.1:9090',
  'https://[::1]:9090/api',
  'ftp://example.com/x',
  'http://$(id).example.com',
  `https://example.com/${'a'.repeat(2100)}`,
  'xoxb-123-abc',
  'C0123456789',
  'postgresql://app:pw@127.0.0.1:5432/shop',
  'production',
  'run-1',
  'a b',
  'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n',
];

async function outcome(run: () => unknown): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

const workspace = mkdtempSync(join(tmpdir(), 'quick-check-'));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

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
    it(`${spec.name}: refuse only what zod refuses, with zod's message`, async () => {
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
        const fast = await outcome(() => quickCheckWithoutFile(spec.name, quick, raw, workspace));
        const full = await outcome(() => parseInputsWithFile(spec, raw, workspace));
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

  it('leave the inputs to the full parse when a delivery file can fill them', async () => {
    const quick = quickChecks['blue-green']!;
    mkdirSync(join(workspace, 'files/.github/delivery'), { recursive: true });
    writeFileSync(join(workspace, 'files/.github/delivery/checkout.yaml'), 'namespace: shop\n');
    // Without a file, the missing inputs are refused at once, saying where they may go.
    expect(await outcome(() => quickCheckWithoutFile('blue-green', quick, { service: 'checkout' }, workspace))).toContain(
      'No delivery file was read (.github/delivery/checkout.yaml does not exist)',
    );
    // With one at the service's path, or one named by delivery-file, the quick checks decide nothing.
    expect(
      await outcome(() => quickCheckWithoutFile('blue-green', quick, { service: 'checkout' }, join(workspace, 'files'))),
    ).toBeUndefined();
    expect(await outcome(() => quickCheckWithoutFile('blue-green', quick, { 'delivery-file': 'x.yaml' }, workspace))).toBeUndefined();
  });
});
