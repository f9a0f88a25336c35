import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/**
 * scripts/ci.sh installs packages with `hold_services` (scripts/hold-services.sh): packaged
 * services may not start while apt-get runs (policy-rc.d answering 101, the "action forbidden"
 * code invoke-rc.d honours), and the machine's own policy-rc.d is put back afterwards. Run here
 * for real with bash, on a policy-rc.d path in a temporary directory.
 */
let dir: string;
let policy: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hold-services-'));
  policy = join(dir, 'policy-rc.d');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `hold_services <command>` in bash; `command` is a shell snippet that may read $POLICY_RC_D. */
function hold(command: string): Promise<{ code: number; during: string }> {
  const script = `. scripts/hold-services.sh; hold_services sh -c '${command}'`;
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { env: { ...process.env, POLICY_RC_D: policy } }, async (error) => {
      const during = await readFile(join(dir, 'during'), 'utf8').catch(() => '');
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, during });
    });
  });
}

const SNAPSHOT = `cat "$POLICY_RC_D" > ${'"'}$(dirname "$POLICY_RC_D")/during${'"'}; "$POLICY_RC_D"; echo "policy says $?" >> ${'"'}$(dirname "$POLICY_RC_D")/during${'"'}`;
const SITE_POLICY = "#!/bin/sh\n# this machine's own policy\nexit 0\n";

describe('hold_services', () => {
  it("forbids service starts during the command, then puts the machine's own policy-rc.d back byte for byte", async () => {
    await writeFile(policy, SITE_POLICY);
    await chmod(policy, 0o750);
    const run = await hold(SNAPSHOT);
    expect(run.code).toBe(0);
    expect(run.during).toBe('#!/bin/sh\nexit 101\npolicy says 101\n');
    expect(await readFile(policy, 'utf8')).toBe(SITE_POLICY);
    expect((await stat(policy)).mode & 0o777).toBe(0o750);
    expect((await readdir(dir)).sort()).toEqual(['during', 'policy-rc.d']);
  });

  it('without a policy-rc.d before, leaves none after', async () => {
    const run = await hold(SNAPSHOT);
    expect(run.during).toContain('policy says 101');
    expect((await readdir(dir)).sort()).toEqual(['during']);
  });

  it('restores it when the command fails, and returns its exit code', async () => {
    await writeFile(policy, SITE_POLICY);
    const run = await hold('exit 3');
    expect(run.code).toBe(3);
    expect(await readFile(policy, 'utf8')).toBe(SITE_POLICY);
  });

  it('restores it when the script is interrupted', async () => {
    await writeFile(policy, SITE_POLICY);
    const run = await hold('kill -TERM $PPID');
    expect(run.code).toBe(130);
    expect(await readFile(policy, 'utf8')).toBe(SITE_POLICY);
    expect((await readdir(dir)).sort()).toEqual(['policy-rc.d']);
  });
});

it('scripts/ci.sh kills no process (it starts none it could name)', async () => {
  const ci = await readFile('scripts/ci.sh', 'utf8');
  const code = ci.split('\n').filter((line) => !line.trim().startsWith('#'));
  expect(code.join('\n')).not.toMatch(/\b(pkill|killall|kill)\b/);
  expect(code.join('\n')).not.toMatch(/policy-rc\.d/);
  expect(ci).toContain('hold_services apt-get install');
});
