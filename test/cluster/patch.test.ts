import { describe, expect, it } from 'vitest';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './patch.js';
import { labelSelectorObjectMatcher, parseLabelSelector } from './selectors.js';

describe('patches', () => {
  it('JSON patch: add/remove/replace/move/copy/test with pointer escapes', () => {
    const doc = { metadata: { annotations: { 'a/b': '1' } }, list: [1, 2] };
    const out = applyJsonPatch(doc, [
      { op: 'add', path: '/list/-', value: 3 },
      { op: 'replace', path: '/metadata/annotations/a~1b', value: '2' },
      { op: 'copy', from: '/list/0', path: '/first' },
      { op: 'move', from: '/first', path: '/moved' },
      { op: 'remove', path: '/list/1' },
      { op: 'test', path: '/moved', value: 1 },
    ]);
    expect(out).toEqual({ metadata: { annotations: { 'a/b': '2' } }, list: [1, 3], moved: 1 });
    expect(doc.list).toEqual([1, 2]); // input untouched
    try {
      applyJsonPatch(doc, [{ op: 'remove', path: '/nope' }]);
      expect.unreachable('remove of a missing key must fail');
    } catch (err: any) {
      expect(err.code).toBe(422);
      expect(err.details.causes[0].message).toContain('doc is missing key: /nope');
    }
  });

  it('merge patch (RFC 7386): null deletes, lists replace', () => {
    expect(applyMergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { b: { c: null, e: 4 }, l: [9] })).toEqual({
      a: 1,
      b: { d: 3, e: 4 },
      l: [9],
    });
  });

  it('strategic merge: containers by name, ports by containerPort, env by name, $patch delete, $setElementOrder, $retainKeys', () => {
    const original = {
      spec: {
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } },
        template: {
          spec: {
            containers: [
              { name: 'app', image: 'a:1', env: [{ name: 'X', value: '1' }], ports: [{ containerPort: 80, name: 'http' }] },
              { name: 'sidecar', image: 's:1' },
            ],
          },
        },
      },
    };
    const out = applyStrategicMergePatch(original, {
      spec: {
        strategy: { $retainKeys: ['type'], type: 'Recreate' },
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'app' }],
            containers: [
              { name: 'app', image: 'a:2', env: [{ name: 'Y', value: '2' }], ports: [{ containerPort: 80, protocol: 'TCP' }] },
              { name: 'sidecar', $patch: 'delete' },
            ],
          },
        },
      },
    });
    expect(out.spec.strategy).toEqual({ type: 'Recreate' });
    expect(out.spec.template.spec.containers).toEqual([
      {
        name: 'app',
        image: 'a:2',
        env: [
          { name: 'X', value: '1' },
          { name: 'Y', value: '2' },
        ],
        ports: [{ containerPort: 80, name: 'http', protocol: 'TCP' }],
      },
    ]);
    // Lists without a merge key are replaced.
    expect(applyStrategicMergePatch({ spec: { args: ['a', 'b'] } }, { spec: { args: ['c'] } })).toEqual({ spec: { args: ['c'] } });
    // Conditions merge by type.
    expect(
      applyStrategicMergePatch(
        { status: { conditions: [{ type: 'A', status: 'True' }] } },
        { status: { conditions: [{ type: 'B', status: 'False' }] } },
      ),
    ).toEqual({
      status: {
        conditions: [
          { type: 'A', status: 'True' },
          { type: 'B', status: 'False' },
        ],
      },
    });
  });
});

describe('label selectors', () => {
  it('parses every operator', () => {
    const labels = { app: 'web', tier: 'fe' };
    const cases: [string, boolean][] = [
      ['app=web', true],
      ['app==web', true],
      ['app!=web', false],
      ['app in (web,api)', true],
      ['app notin (web)', false],
      ['tier', true],
      ['!tier', false],
      ['!missing', true],
      ['app=web,tier=be', false],
      ['', true],
    ];
    for (const [sel, want] of cases) expect(parseLabelSelector(sel)(labels), sel).toBe(want);
  });

  it('matches LabelSelector objects with matchExpressions', () => {
    const m = labelSelectorObjectMatcher({
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'track', operator: 'NotIn', values: ['canary'] }],
    });
    expect(m({ app: 'web', track: 'stable' })).toBe(true);
    expect(m({ app: 'web', track: 'canary' })).toBe(false);
  });
});
