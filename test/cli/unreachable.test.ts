import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

/**
 * Issue 15: a canary config with errors, given while the cluster cannot be reached, printed only
 * ECONNREFUSED and exited 1: the post step tried the cluster and hid the first error. Every input
 * and config error is reported first, with exit 2, and nothing is asked of the cluster.
 */
describe('the command line with an unreachable cluster', () => {
  test('a bad canary config is reported in full, exit 2, and no connection error follows', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pd-cli-'));
    // Port 9 on loopback: nothing listens (the discard port is not served here).
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: abcdefabcdef}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    );
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli.ts',
        'canary',
        '--namespace',
        'shop',
        '--service',
        'cart',
        '--image',
        'registry.example.com/cart:2.0.0',
        '--config',
        'steps: [{setWeight: 500}]',
        '--kubeconfig',
        `@${kubeconfig}`,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("'routing': is required but was not given");
    expect(run.stderr).toContain("'steps.0.setWeight': expected a whole percentage from 0 to 100; given: 500");
    expect(run.stderr + run.stdout).not.toMatch(/ECONNREFUSED|connect/i);
  });
});
