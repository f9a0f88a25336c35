import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { InputError } from '../../src/core/config/input-error.js';
import { parseWith } from '../../src/core/config/parse.js';
import { commandInput, duration, httpUrl, imageRef, listInput, namespacedName, percentage } from '../../src/core/config/primitives.js';

const ok = <S extends z.ZodType>(schema: S, value: unknown) => parseWith(schema, value, { label: 'test' });
const bad = (schema: z.ZodType, value: unknown) => () => parseWith(schema, value, { label: 'test' });

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['10m', 600_000],
    ['1h', 3_600_000],
    ['1.5m', 90_000],
    ['45', 45_000],
    [2, 2000],
    // Go's time.ParseDuration, which Argo Rollouts uses for interval, initialDelay and pause
    // durations (v1alpha1.DurationString.Duration): time.ParseDuration("1h30m") = 1h30m0s,
    // ("90s") = 1m30s, ("1.5h") = 1h30m0s, ("500ms") = 500ms, ("2h45m30.5s"), ("1500us") = 1.5ms, ("0") = 0s.
    ['1h30m', 5_400_000],
    ['90s', 90_000],
    ['1.5h', 5_400_000],
    ['2h45m30.5s', 9_930_500],
    ['1m0.5s', 60_500],
    ['.5s', 500],
    ['1500us', 2],
    ['0', 0],
  ])('%s is %d ms', (text, ms) => expect(ok(duration, text)).toBe(ms));

  // Go refuses a missing unit after a number ("1h30"), a unit alone, spaces and unknown units;
  // a leading sign is valid Go but a negative duration never is here.
  it.each(['-5s', '10 minutes', '5d', '', 'm', '25h', '1h30', '1h 30m', '1.5.5h', '.s', '+5s'])('%j is refused', (text) =>
    expect(bad(duration, text)).toThrow(InputError),
  );
});

describe('percentages', () => {
  it('accepts 0..100 with or without %', () => {
    expect(ok(percentage, '25%')).toBe(25);
    expect(ok(percentage, 100)).toBe(100);
    expect(ok(percentage, '0')).toBe(0);
  });
  it.each(['101', '-1', '12.5', 'half', ''])('%j is refused', (v) => expect(bad(percentage, v)).toThrow(/percentage from 0 to 100/));
});

describe('namespaced names', () => {
  it('splits ns/name and uses the default namespace for a bare name', () => {
    expect(ok(namespacedName(), 'shop/checkout')).toEqual({ namespace: 'shop', name: 'checkout' });
    expect(ok(namespacedName('prod'), 'checkout')).toEqual({ namespace: 'prod', name: 'checkout' });
  });
  it.each(['Shop/checkout', 'a/b/c', 'shop/', 'checkout', 'shop/check_out', 'shop/x;rm -rf'])('%j is refused', (v) =>
    expect(bad(namespacedName(), v)).toThrow(/namespace\/name/),
  );
});

describe('images', () => {
  it.each(['nginx', 'registry.example.com:5000/team/app:1.25.0', `app@sha256:${'a'.repeat(64)}`])('%s is an image', (v) =>
    expect(ok(imageRef, v)).toBe(v),
  );
  it.each(['app:1.0; rm -rf /', 'App:1', 'app:$(id)', 'a b'])('%j is refused', (v) => expect(bad(imageRef, v)).toThrow(/container image/));
});

describe('commands', () => {
  it('splits words, keeps quoted groups, and never interprets shell syntax', () => {
    expect(ok(commandInput, `psql -c "select 1; drop table x" 'a b'`)).toEqual(['psql', '-c', 'select 1; drop table x', 'a b']);
    expect(ok(commandInput, 'echo $(id) && rm')).toEqual(['echo', '$(id)', '&&', 'rm']);
    expect(ok(commandInput, '["npx", "knex", "migrate:latest"]')).toEqual(['npx', 'knex', 'migrate:latest']);
  });
  it.each(['', '   ', '"unclosed', '[1, 2]', '[]'])('%j is refused', (v) => expect(bad(commandInput, v)).toThrow(/command/));
});

describe('lists', () => {
  it('parses comma and newline separated items with the item schema', () => {
    expect(ok(listInput(namespacedName()), 'a/b,\n c/d')).toEqual([
      { namespace: 'a', name: 'b' },
      { namespace: 'c', name: 'd' },
    ]);
    expect(bad(listInput(namespacedName()), 'a/b, nope')).toThrow(/'1'/);
  });
});

describe('error messages', () => {
  const schema = z.object({ weight: percentage, config: z.object({ steps: z.array(z.number()) }).strict(), token: z.string().min(50) });
  it('name every bad path, what was given and what is expected, in one error', () => {
    let message = '';
    try {
      parseWith(
        schema,
        { weight: '150', config: { steps: ['x'], stpes: 1 }, token: 'hunter2-secret' },
        { label: 'config deploy.yaml', secretKeys: ['token'] },
      );
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('4 problems in config deploy.yaml');
    expect(message).toContain(`'weight': expected a whole percentage from 0 to 100; given: "150"`);
    expect(message).toContain(`'config.steps.0': expected number; given: "x"`);
    expect(message).toContain(`unknown key 'stpes'`);
    expect(message).toContain(`'token'`);
    expect(message).toContain('(secret, not shown)');
    expect(message).not.toContain('hunter2-secret');
  });
  it('says when a required value is missing', () => {
    expect(bad(z.object({ namespace: z.string() }), {})).toThrow(`'namespace': is required but was not given`);
  });
  it('shortens huge given values', () => {
    expect(bad(z.object({ a: z.number() }), { a: 'x'.repeat(10_000) })).toThrow(/… \(10002 characters\)/);
  });
});

describe('http URLs', () => {
  it.each([
    'http://prometheus.monitoring:9090',
    'https://hooks.slack.com/services/T0/B0/x',
    'http://127.0.0.1:9090/prom',
    'http://[::1]:9090',
  ])('%s is a URL', (v) => expect(ok(httpUrl, v)).toBe(v));
  it.each(['prometheus:9090', 'http://$(id)', 'http://a;b', 'ftp://files.example.com', 'http://', 'http://exa mple.com'])(
    '%j is refused',
    (v) => expect(bad(httpUrl, v)).toThrow(/http\(s\) URL/),
  );
});
