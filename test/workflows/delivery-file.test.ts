/**
 * The delivery file (src/core/specs/delivery-file.ts) as the actions read it: which value wins
 * (input given > environments.<env>.<action> > environments.<env> > <action> > top level >
 * default), every error an InputError naming the file, the key and the fix, no secret accepted
 * (nor echoed), and the published JSON schema generated from the same zod schema.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/config/input-error.js';
import { blueGreenSpec } from '../../src/core/specs/blue-green.js';
import { canarySpec } from '../../src/core/specs/canary.js';
import {
  deliveryFileActions,
  deliveryFileJsonSchemaText,
  deliveryFileValues,
  parseInputsWithFile,
} from '../../src/core/specs/delivery-file.js';
import { rollbackSpec } from '../../src/core/specs/rollback.js';
import { rollingSpec } from '../../src/core/specs/rolling.js';
import type { ActionSpec } from '../../src/core/specs/spec.js';
import { actionInputs, ROOT } from './workflow-files.js';

const workspaces: string[] = [];
afterAll(() => {
  for (const dir of workspaces) rmSync(dir, { recursive: true, force: true });
});

/** A checked-out repository with these files. */
function workspace(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pd-delivery-file-'));
  workspaces.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const LAYERED = `
namespace: shop
steps: 100
validation-duration: 1m
rollout-timeout: 3m
blue-green:
  router: istio
  steps: [10, 50, 100]
  validation-duration: 2m
environments:
  staging:
    validation-duration: 3m
    rollout-timeout: 4m
    blue-green:
      validation-duration: 4m
  production:
    environment-url: https://shop.example.com
`;

async function parseError(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe('precedence: input given > environments.<env>.<action> > environments.<env> > <action> > top level > default', () => {
  const dir = workspace({ '.github/delivery/checkout.yaml': LAYERED });
  const parse = (raw: Record<string, string>) => parseInputsWithFile(blueGreenSpec, { service: 'checkout', ...raw }, dir);

  it('each key from its most specific layer', async () => {
    const { inputs, file } = await parse({ environment: 'staging' });
    expect(file?.path).toBe('.github/delivery/checkout.yaml');
    expect(inputs.namespace).toBe('shop'); // top level
    expect(inputs.router).toBe('istio'); // blue-green section
    expect(inputs.steps).toEqual([10, 50, 100]); // the section over the top level
    expect(inputs['validation-duration']).toBe(240_000); // environments.staging.blue-green over environments.staging
    expect(inputs['rollout-timeout']).toBe(240_000); // environments.staging over the top level
    expect(inputs['lock-timeout']).toBe(300_000); // nowhere in the file: the input's default (5m)
  });

  it('another environment takes only its own overrides', async () => {
    const { inputs } = await parse({ environment: 'production' });
    expect(inputs['validation-duration']).toBe(120_000);
    expect(inputs['rollout-timeout']).toBe(180_000);
    expect(inputs['environment-url']).toBe('https://shop.example.com');
  });

  it('an input given wins over every layer; an empty one does not', async () => {
    const { inputs } = await parse({
      environment: 'staging',
      router: 'service',
      steps: '100',
      'validation-duration': '',
      namespace: 'shop-next',
    });
    expect(inputs.router).toBe('service');
    expect(inputs.steps).toEqual([100]);
    expect(inputs.namespace).toBe('shop-next');
    expect(inputs['validation-duration']).toBe(240_000);
  });

  it('another action reads the top level and its own section only', async () => {
    const { inputs } = await parseInputsWithFile(rollbackSpec, { service: 'checkout', environment: 'staging' }, dir);
    expect(inputs.namespace).toBe('shop');
    expect(inputs['rollout-timeout']).toBe(240_000);
  });

  it("a top-level deployment is rolling's Deployment and never reaches rollback (whose deployment goes with to-revision)", async () => {
    const file = workspace({ '.github/delivery/checkout.yaml': 'namespace: shop\ndeployment: checkout-web\ncontainer: app\n' });
    const rolling = await parseInputsWithFile(rollingSpec, { service: 'checkout', image: 'registry.example.com/checkout:2.0.0' }, file);
    expect(rolling.inputs).toMatchObject({ deployment: 'checkout-web', container: 'app', namespace: 'shop' });
    const rollback = await parseInputsWithFile(rollbackSpec, { service: 'checkout' }, file);
    expect(rollback.inputs.deployment).toBeUndefined();
    expect(rollback.inputs.namespace).toBe('shop');
    const error = await parseError(
      parseInputsWithFile(
        rollbackSpec,
        { service: 'checkout' },
        workspace({ '.github/delivery/checkout.yaml': 'rollback:\n  deployment: checkout-web\n' }),
      ),
    );
    expect(error.message).toContain('deployment');
  });

  it('no file at the default path: the inputs alone, and a missing required one says where it was looked for', async () => {
    const empty = workspace({});
    const error = await parseError(parseInputsWithFile(blueGreenSpec, { service: 'checkout' }, empty));
    expect(error.message).toMatch(/'namespace': is required/);
    expect(error.message).toContain('.github/delivery/checkout.yaml does not exist');
    const { inputs, file } = await parseInputsWithFile(blueGreenSpec, { service: 'checkout', namespace: 'shop', router: 'service' }, empty);
    expect(file).toBeUndefined();
    expect(inputs.steps).toEqual([100]);
  });

  it('delivery-file names another file, which must exist', async () => {
    const dir2 = workspace({ 'deploy/checkout.yml': 'namespace: shop-eu\nblue-green: { router: gateway }\n' });
    const { inputs } = await parseInputsWithFile(blueGreenSpec, { service: 'checkout', 'delivery-file': 'deploy/checkout.yml' }, dir2);
    expect(inputs).toMatchObject({ namespace: 'shop-eu', router: 'gateway' });
    const error = await parseError(parseInputsWithFile(blueGreenSpec, { service: 'checkout', 'delivery-file': 'deploy/nope.yaml' }, dir2));
    expect(error.message).toMatch(/^delivery-file: cannot read deploy\/nope\.yaml \(ENOENT\).*check the path/);
  });
});

describe('file errors name the file, the key and the fix', () => {
  const read = (text: string, spec: ActionSpec = blueGreenSpec, environment?: string) => {
    try {
      deliveryFileValues(spec, text, '.github/delivery/checkout.yaml', environment);
    } catch (error) {
      expect(error).toBeInstanceOf(InputError);
      return (error as Error).message;
    }
    throw new Error('expected an InputError');
  };

  it('a bad value, by its key in the file, with what is expected', () => {
    const message = read('blue-green:\n  steps: [50, 10]\n');
    expect(message).toContain('delivery file .github/delivery/checkout.yaml');
    expect(message).toContain("'blue-green.steps': expected increasing weights above 0");
    expect(read('environments:\n  staging:\n    blue-green:\n      router: nginx\n')).toMatch(
      /'environments\.staging\.blue-green\.router': expected one of "istio", "gateway", "service"/,
    );
    // Checked by the action that reads it, where it applies: a bad duration under staging.
    expect(read('environments:\n  staging:\n    lock-timeout: soon\n', canarySpec, 'staging')).toMatch(
      /'environments\.staging\.lock-timeout': expected a duration/,
    );
  });

  it('an unknown key (a typo), with where the keys are listed', () => {
    const message = read('blue-green:\n  routr: istio\n');
    expect(message).toContain("'blue-green': unknown key 'routr' (check the spelling)");
    expect(message).toContain('actions/delivery.schema.json');
  });

  it('not YAML', () => {
    expect(read('namespace: [shop\n')).toMatch(/^delivery file \.github\/delivery\/checkout\.yaml: not valid YAML/);
  });

  it('a per-run key: give it as an input', () => {
    expect(read('service: checkout\n')).toMatch(/'service' is what the run names/);
    expect(read('image: registry.example.com/checkout:1.0\n')).toMatch(/'image' changes from run to run, so it is an input/);
    expect(read('canary:\n  dry-run: true\n')).toMatch(/'canary\.dry-run' changes from run to run/);
  });

  it('a secret by its key, at any level: refused, pointing at the secret input', () => {
    expect(read('slack-webhook-url: https://example.com/x\n')).toMatch(
      /'slack-webhook-url' is a secret.*the `slack-webhook-url` input.*secrets\.SLACK_WEBHOOK_URL/,
    );
    expect(read('environments:\n  production:\n    canary:\n      prometheus-token: abc\n')).toMatch(
      /'environments\.production\.canary\.prometheus-token' is a secret.*`prometheus-token` input/,
    );
    expect(read('blue-green:\n  kubeconfig: x\n')).toMatch(/'blue-green\.kubeconfig' is a secret/);
    expect(read('db-password: hunter2\n')).toMatch(/'db-password' is a secret/);
  });

  it('a secret by its value, wherever it hides, never echoed', () => {
    const token = 'xoxb-1234-5678-abcdefghijkl';
    const inToken = read(
      `blue-green:\n  analysis:\n    metrics:\n      - name: x\n        provider: { web: { headers: [{ key: Authorization, value: "${token}" }] } }\n`,
    );
    expect(inToken).toMatch(/'blue-green\.analysis\.metrics\.0\.provider\.web\.headers\.0\.value' holds what looks like a secret/);
    expect(inToken).not.toContain(token);
    const url = read('prometheus-address: https://reader:s3cr3tpass@prom.example.com\n');
    expect(url).toMatch(/'prometheus-address' holds what looks like a secret/);
    expect(url).not.toContain('s3cr3tpass');
  });

  it('a path outside the workspace is refused', async () => {
    const dir = workspace({});
    const error = await parseError(
      parseInputsWithFile(blueGreenSpec, { service: 'checkout', 'delivery-file': '../../etc/passwd.yaml' }, dir),
    );
    expect(error.message).toMatch(/^delivery-file: \.\.\/\.\.\/etc\/passwd\.yaml is outside the workspace/);
  });
});

describe('the published schema and the example', () => {
  it('actions/delivery.schema.json is what the zod schema generates (npm run build -- --docs)', () => {
    expect(readFileSync(join(ROOT, 'actions/delivery.schema.json'), 'utf8')).toBe(deliveryFileJsonSchemaText());
  });

  it('the schema lists every action section and no secret input', () => {
    const schema = JSON.parse(deliveryFileJsonSchemaText());
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['namespace', 'blue-green', 'canary', 'rollback', 'environments']),
    );
    const text = JSON.stringify(Object.keys(schema.properties));
    for (const secret of ['kubeconfig', 'slack-token', 'slack-webhook-url', 'github-token', 'prometheus-token', 'database-url'])
      expect(text).not.toContain(`"${secret}"`);
    expect(schema.additionalProperties).toBe(false);
  });

  it('the example delivery file (examples/delivery/checkout.yaml) is valid for every action and environment in it', () => {
    const text = readFileSync(join(ROOT, '.github/workflows/examples/delivery/checkout.yaml'), 'utf8');
    for (const spec of deliveryFileActions) {
      for (const environment of [undefined, 'staging', 'production']) {
        expect(
          () => deliveryFileValues(spec, text, '.github/delivery/checkout.yaml', environment),
          `${spec.name} ${environment}`,
        ).not.toThrow();
      }
    }
    expect(deliveryFileValues(blueGreenSpec, text, 'x', 'staging')).toMatchObject({ namespace: 'shop', router: 'istio', steps: '100' });
  });

  it('action.yml gives the inputs the file may set no runner default (it would win over the file)', () => {
    const { declared, required } = actionInputs('blue-green');
    expect(declared.has('delivery-file')).toBe(true);
    expect(required.has('router')).toBe(false);
    expect(required.has('namespace')).toBe(false);
    const yml = readFileSync(join(ROOT, 'actions/blue-green/action.yml'), 'utf8');
    expect(yml).not.toMatch(/\n {2}steps:\n(?: {4}.*\n)* {4}default:/);
    expect(yml).toMatch(/\n {2}dry-run:\n(?: {4}.*\n)* {4}default: "false"/);
  });
});
