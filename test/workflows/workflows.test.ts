import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { actionFile, actionInputs, githubParserErrors, actionNames, ourWorkflows, ownActionName, ROOT, steps } from './workflow-files.js';

const workflows = ourWorkflows();
const reusable = workflows.filter((w) => !w.path.includes('/examples/'));
const examples = workflows.filter((w) => w.path.includes('/examples/'));

// biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression ${{ }}, not a template
const BROKEN = 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    bogus: 1\n    steps:\n      - run: echo ${{ nope.x }}\n';
const parsed = githubParserErrors([
  ...workflows.map((w) => ({ kind: 'workflow' as const, name: w.path, content: w.content })),
  ...actionNames().map(actionFile),
  { kind: 'workflow', name: 'broken.yml', content: BROKEN },
]);

describe('the workflow files', () => {
  it('are the reusable workflows and at least one example', () => {
    expect(reusable.map((w) => w.path)).toEqual(
      ['blue-green.yml', 'canary.yml', 'deploy.yml', 'rollback.yml', 'rolling.yml'].map((name) => `.github/workflows/${name}`),
    );
    expect(examples.length).toBeGreaterThan(0);
  });

  it.each(workflows.map((w) => [w.path] as const))('%s passes GitHub’s workflow parser', (path) => {
    expect(parsed[path]).toEqual([]);
  });

  it.each(actionNames())('actions/%s/action.yml passes GitHub’s action parser', (name) => {
    expect(parsed[`actions/${name}/action.yml`]).toEqual([]);
  });

  it('the parser does catch a broken workflow (so the checks above mean something)', () => {
    expect(parsed['broken.yml']).toEqual([
      "broken.yml (Line: 5, Col: 5): Unexpected value 'bogus'",
      "broken.yml (Line: 7, Col: 14): Unrecognized named-value: 'nope'",
    ]);
  });
});

describe('uses of our actions', () => {
  const uses = workflows.flatMap(steps).filter(({ step }) => typeof step.uses === 'string' && ownActionName(step.uses));

  it('are found in the workflows', () => {
    expect(new Set(uses.map(({ step }) => ownActionName(step.uses)))).toEqual(
      new Set(['blue-green', 'canary', 'migrate', 'rollback', 'rolling', 'validate']),
    );
  });

  it.each(uses.map((u) => [`${u.workflow} ${u.job} ${u.step.id ?? u.step.name}`, u] as const))(
    '%s names an action and passes only its inputs, every required one',
    (_label, { step }) => {
      const name = ownActionName(step.uses)!;
      expect(existsSync(join(ROOT, 'actions', name, 'action.yml'))).toBe(true);
      const { declared, required } = actionInputs(name);
      const given = Object.keys(step.with ?? {});
      expect(given.filter((input) => !declared.has(input))).toEqual([]);
      expect([...required].filter((input) => !given.includes(input))).toEqual([]);
    },
  );

  it('use the self-repository reference in reusable workflows, so a caller in another repository gets our actions at the same commit', () => {
    for (const { workflow, step } of uses.filter((u) => !u.workflow.includes('/examples/'))) {
      expect(step.uses, workflow).toMatch(/^\$\/actions\//);
    }
  });
});

describe('safety of the reusable workflows', () => {
  it('never expand inputs or event data inside run scripts (pass them through env)', () => {
    const offenders = workflows
      .flatMap(steps)
      .filter(({ step }) => typeof step.run === 'string' && /\$\{\{\s*(inputs\.|github\.event\.|github\.head_ref)/.test(step.run))
      .map(({ workflow, job }) => `${workflow} ${job}`);
    expect(offenders).toEqual([]);
  });

  it.each(reusable.map((w) => [w.path, w] as const))(
    '%s serialises per service and environment, never cancelling a delivery in progress',
    (_path, file) => {
      const concurrency = file.doc.concurrency;
      for (const input of ['service', 'environment']) expect(concurrency.group).toContain(`\${{ inputs.${input} }}`);
      expect(concurrency['cancel-in-progress']).toBe(false);
      for (const job of Object.values<any>(file.doc.jobs)) {
        if (job.concurrency) expect(job.concurrency['cancel-in-progress']).toBe(false);
      }
    },
  );

  it.each(workflows.map((w) => [w.path, w] as const))('%s declares least permissions', (_path, file) => {
    const allowed = new Set(['contents: read', 'deployments: write']);
    const top = Object.entries(file.doc.permissions ?? {}).map(([k, v]) => `${k}: ${v}`);
    expect(top.length).toBeGreaterThan(0);
    expect(top.filter((p) => !allowed.has(p))).toEqual([]);
    for (const job of Object.values<any>(file.doc.jobs)) {
      const perms = Object.entries(job.permissions ?? {}).map(([k, v]) => `${k}: ${v}`);
      expect(perms.filter((p) => !allowed.has(p))).toEqual([]);
    }
  });

  it.each(reusable.map((w) => [w.path, w] as const))('%s can be called and run by hand, with an environment picker', (_path, file) => {
    const on = file.doc.on;
    expect(Object.keys(on).sort()).toEqual(['workflow_call', 'workflow_dispatch']);
    expect(on.workflow_dispatch.inputs.environment.type).toBe('environment');
    expect(on.workflow_dispatch.inputs.service.required).toBe(true);
    expect(on.workflow_call.inputs.service.required).toBe(true);
  });

  it.each(reusable.map((w) => [w.path, w] as const))('%s maps every output to a job output that exists', (_path, file) => {
    for (const [name, output] of Object.entries<any>(file.doc.on.workflow_call.outputs ?? {})) {
      const match = /^\$\{\{\s*jobs\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}$/.exec(output.value);
      expect(match, `${file.path} output ${name}`).not.toBeNull();
      const job = file.doc.jobs[match![1]!];
      expect(job?.outputs?.[match![2]!], `${file.path} output ${name}`).toMatch(/steps\.[\w-]+\.outputs\./);
    }
  });

  it('runs every job that touches the cluster or the database in the environment, without a second GitHub deployment', () => {
    for (const file of reusable) {
      for (const [id, job] of Object.entries<any>(file.doc.jobs)) {
        const ours = (job.steps ?? []).filter((s: any) => typeof s.uses === 'string' && ownActionName(s.uses));
        if (ours.length === 0) continue;
        expect(job.environment?.name, `${file.path} ${id}`).toBeDefined();
        expect(job.environment?.deployment, `${file.path} ${id}`).toBe(false);
      }
    }
  });
});

describe('the examples', () => {
  it.each(examples.map((w) => [w.path, w] as const))(
    '%s calls our reusable workflows with only their inputs and secrets, and every required one',
    (_path, file) => {
      const byName = new Map(reusable.map((w) => [w.path.split('/').at(-1)!, w]));
      const calls = Object.values<any>(file.doc.jobs).filter((job) => typeof job.uses === 'string');
      expect(calls.length).toBeGreaterThan(0);
      for (const call of calls) {
        const target = /^[\w.-]+\/[\w.-]+\/\.github\/workflows\/([\w.-]+\.yml)@[\w.-]+$/.exec(call.uses)?.[1];
        expect(target, call.uses).toBeDefined();
        const called = byName.get(target!)!;
        expect(called, call.uses).toBeDefined();
        const spec = called.doc.on.workflow_call;
        const given = Object.keys(call.with ?? {});
        expect(given.filter((i) => !(i in spec.inputs))).toEqual([]);
        const requiredInputs = Object.entries<any>(spec.inputs)
          .filter(([, d]) => d.required)
          .map(([n]) => n);
        expect(requiredInputs.filter((i) => !given.includes(i))).toEqual([]);
        const secrets = Object.keys(call.secrets ?? {});
        expect(secrets.filter((s) => !(s in (spec.secrets ?? {})))).toEqual([]);
        const requiredSecrets = Object.entries<any>(spec.secrets ?? {})
          .filter(([, d]) => d.required)
          .map(([n]) => n);
        expect(requiredSecrets.filter((s) => !secrets.includes(s))).toEqual([]);
        // The caller grants what the called workflow asks for: a reusable workflow can only lower permissions.
        expect(call.permissions ?? file.doc.permissions).toMatchObject(called.doc.permissions);
      }
    },
  );

  it.each(examples.map((w) => [w.path, w] as const))(
    '%s does not hold the concurrency group of the workflow it calls (that deadlocks)',
    (_path, file) => {
      const groups = [file.doc.concurrency, ...Object.values<any>(file.doc.jobs).map((j) => j.concurrency)]
        .filter(Boolean)
        .map((c) => (typeof c === 'string' ? c : c.group));
      for (const group of groups) expect(group).not.toMatch(/^progressive-delivery-/);
    },
  );
});
