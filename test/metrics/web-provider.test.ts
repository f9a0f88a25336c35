import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/config/input-error.js';
import { parseMetrics, runAnalysis } from '../../src/core/metrics/index.js';
import { parseJsonPath, selectJsonPath } from '../../src/core/metrics/providers/jsonpath.js';
import { MemoryReporter } from '../../src/core/reporter.js';

/**
 * The web provider against Argo Rollouts' (metricproviders/webmetric/webmetric.go) and
 * Kubernetes JSONPath's (k8s.io/client-go/util/jsonpath, jsonpath_test.go) behaviour, over real
 * HTTP from a local server that answers each path with a fixed body.
 */

const BODIES: Record<string, { type: string; body: string }> = {
  '/ok-text': { type: 'text/plain', body: 'OK' },
  '/down-text': { type: 'text/plain', body: 'DOWN' },
  '/nodes': { type: 'application/json', body: '' },
};

// Kubernetes' TestKubernetes input (jsonpath_test.go), trimmed.
const NODES = {
  kind: 'List',
  items: [
    {
      kind: 'None',
      metadata: { name: '127.0.0.1', labels: { 'kubernetes.io/hostname': '127.0.0.1' } },
      status: { capacity: { cpu: '4' }, ready: true, addresses: [{ type: 'LegacyHostIP', address: '127.0.0.1' }] },
    },
    {
      kind: 'None',
      metadata: { name: '127.0.0.2', labels: { 'kubernetes.io/hostname': '127.0.0.2' } },
      status: {
        capacity: { cpu: '8' },
        ready: false,
        addresses: [
          { type: 'LegacyHostIP', address: '127.0.0.2' },
          { type: 'another', address: '127.0.0.3' },
        ],
      },
    },
  ],
  users: [
    { name: 'myself', user: {} },
    { name: 'e2e', user: { username: 'admin', password: 'secret' } },
  ],
};
BODIES['/nodes']!.body = JSON.stringify(NODES);

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const found = BODIES[req.url ?? ''];
    if (!found) return void res.writeHead(404).end('not found');
    res.writeHead(200, { 'Content-Type': found.type }).end(found.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function measureOnce(path: string, condition: string, jsonPath?: string) {
  const yaml = `
- name: web
  successCondition: ${JSON.stringify(condition)}
  provider:
    web:
      url: "${base}${path}"
${jsonPath ? `      jsonPath: ${JSON.stringify(jsonPath)}\n` : ''}`;
  const result = await runAnalysis({ analysis: parseMetrics(yaml, 'web metrics'), reporter: new MemoryReporter(), retry: { attempts: 1 } });
  return result.metrics[0]!.measurements[0]!;
}

describe('web provider', () => {
  it('evaluates a body that is not JSON as text, as Argo does ("non JSON body return as string")', async () => {
    expect(await measureOnce('/ok-text', 'result == "OK"')).toMatchObject({ phase: 'Successful', value: '"OK"' });
    // Where we differ: the Argo version that returns a non-JSON body as Successful without
    // evaluating it would pass "DOWN" too; here the condition decides.
    expect(await measureOnce('/down-text', 'result == "OK"')).toMatchObject({ phase: 'Failed', value: '"DOWN"' });
    const withPath = await measureOnce('/ok-text', 'result == "OK"', '{$.status}');
    expect(withPath.phase).toBe('Successful');
    expect(withPath.message).toContain('the body is not JSON, so it is the result as text (jsonPath not applied)');
  });

  it('takes the first value a JSONPath selects (Argo getValue), filters included', async () => {
    expect(await measureOnce('/nodes', 'result == "secret"', '{.users[?(@.name=="e2e")].user.password}')).toMatchObject({
      phase: 'Successful',
    });
    expect(await measureOnce('/nodes', 'result == "127.0.0.1"', '{$.items[*].metadata.name}')).toMatchObject({ phase: 'Successful' });
    expect(await measureOnce('/nodes', 'result == "8"', '{$.items[?(@.status.ready==false)].status.capacity.cpu}')).toMatchObject({
      phase: 'Successful',
    });
  });

  it('treats a path that selects nothing as no data (Inconclusive), where Argo says Error "produced no value"', async () => {
    expect(await measureOnce('/nodes', 'result == "x"', '{.users[?(@.name=="nobody")].name}')).toMatchObject({ phase: 'Inconclusive' });
  });
});

describe('Kubernetes JSONPath, first value (cases from client-go jsonpath_test.go)', () => {
  const types = {
    bools: [true, false, true, false],
    integers: [1, 2, 3, 4],
    floats: [1.0, 2.2, 3.3, 4.0],
    strings: ['one', 'two', 'three', 'four'],
    maps: [
      { name: 'one', value: 1 },
      { name: 'two', value: 2.02 },
      { name: 'three', value: 3.03 },
      { name: 'four', value: 4.04 },
    ],
  };
  const points = [
    { id: 'i1', x: 4, y: -5 },
    { id: 'i2', x: -2, y: -5, z: 1 },
    { id: 'i3', x: 8, y: 3 },
  ];
  it.each([
    // [template, input, Kubernetes' printed output (all values), the first value Argo measures]
    ['{ .bools[-1] }', types, 'false', false],
    ['{ .integers[-2] }', types, '3', 3],
    ['{ .integers[:4:2] }', types, '1 3', 1],
    ['{ .floats[0:2] }', types, '1 2.2', 1],
    ['{ .maps[1::2] }', types, '{"name":"two","value":2.02} {"name":"four","value":4.04}', { name: 'two', value: 2.02 }],
    ['{ .strings[-2] }', types, 'three', 'three'],
    ['{[?(@<5)]}', [2, 6, 3, 7], '2 3', 2],
    ['{[0:2]}', ['Monday', 'Tudesday'], 'Monday Tudesday', 'Monday'],
    ['{[?(@.z)].id}', points, 'i2 i5', 'i2'],
    ["{[0]['id']}", points, 'i1', 'i1'],
    ['{.items[*].status.addresses[*].address}', NODES, '127.0.0.1 127.0.0.2 127.0.0.3', '127.0.0.1'],
    ['{.users[?(@.name=="e2e")].user.password}', NODES, 'secret', 'secret'],
    ['{.items[0].metadata.labels.kubernetes\\.io/hostname}', NODES, '127.0.0.1', '127.0.0.1'],
    ['{.items[?(@.metadata.labels.kubernetes\\.io/hostname=="127.0.0.1")].kind}', NODES, 'None', 'None'],
    ['{.items[?(@..ready==true)].metadata.name}', NODES, '127.0.0.1', '127.0.0.1'],
    ['{$.items[-1:].metadata.name}', NODES, '127.0.0.2', '127.0.0.2'],
    ['{$.kind}', NODES, 'List', 'List'],
  ])('%s', (template, input, _kubernetesPrints, first) => {
    expect(selectJsonPath(input as never, template)).toEqual(first);
  });

  it('refuses what Argo would not read as a path, naming the fix', () => {
    // In Kubernetes JSONPath text outside braces is literal: Argo would measure the constant "$.value".
    expect(() => parseJsonPath('$.value')).toThrow(
      /in Argo Rollouts text outside braces is literal, so this would be the constant string "\$\.value"\): write \{\$\.value\}/,
    );
    expect(() => parseJsonPath('value: {.value}')).toThrow(/one JSONPath expression in braces/);
    expect(() => parseJsonPath('{range .items[*]}{.x}{end}')).toThrow(/one JSONPath expression in braces|range\/end/);
    // jsonpath_test.go failStoreTests: "unrecognized filter operator <>".
    expect(() => parseJsonPath('{.Book[?(@.Price<>10)]}')).toThrow(/unknown comparison/);
    expect(() => parseMetrics('- name: w\n  provider: { web: { url: "http://x/", jsonPath: "$.data" } }', 'm')).toThrow(InputError);
  });

  it('never evaluates code: a filter is a comparison, nothing else', () => {
    expect(() => parseJsonPath('{.items[?(@.name == process.exit())]}')).toThrow(/must be @.key, a number or a quoted string/);
    expect(() => parseJsonPath('{.items[?(@.a == 1 && @.b == 2)]}')).toThrow(/one comparison \(no && or \|\|\)/);
  });
});
