/**
 * The one list of actions (src/core/specs/index.ts) and what derives from it: each entry loads
 * the flow of its own spec, a post step exactly where action.yml declares one, one action.yml
 * folder per entry and no other, and the stub the build writes for it.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { actionStub, actionYaml } from '../../scripts/build.js';
import { actionNamed, actions } from '../../src/core/specs/index.js';

const ROOT = join(import.meta.dirname, '../..');

describe('the list of actions', () => {
  test('names each action once, and actions/ holds exactly those', () => {
    const names = actions.map((a) => a.spec.name);
    expect(new Set(names).size).toBe(names.length);
    const folders = readdirSync(join(ROOT, 'actions'), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(folders.sort()).toEqual([...names].sort());
  });

  test.each(actions.map((a) => [a.spec.name, a] as const))(
    '%s loads the flow of its own spec, with a post step exactly when the spec declares one',
    async (_name, entry) => {
      const flow = await entry.flow();
      expect(flow.spec).toBe(entry.spec);
      expect(Boolean(flow.post)).toBe(Boolean(entry.spec.post));
    },
  );

  test.each(actions.map((a) => [a.spec.name, a] as const))(
    '%s: action.yml starts the stub the build writes, which runs this action',
    (name, entry) => {
      expect(actionYaml(entry.spec)).toContain(`main: ../../dist/${name}/index.cjs`);
      expect(actionStub(name)).toContain(`require('../start.cjs').startAction('${name}', () => import('../index.js'));`);
      expect(actionStub(name).split('\n').length).toBeLessThan(6);
    },
  );

  test('an unknown name is refused naming the actions there are', () => {
    expect(() => actionNamed('blue')).toThrow('no action "blue"; the actions are blue-green, canary, rolling, validate, migrate, rollback');
  });
});
