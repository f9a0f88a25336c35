import { describe, expect, it } from 'vitest';
import { evaluateCondition, type Value } from '../../src/core/metrics/condition/evaluate.js';
import { parseCondition } from '../../src/core/metrics/condition/parse.js';
import { ConditionSyntaxError } from '../../src/core/metrics/condition/tokens.js';
import { assessValue, compileConditions } from '../../src/core/metrics/condition/verdict.js';

const holds = (condition: string, result: Value) => evaluateCondition(parseCondition(condition), result);

describe('condition language', () => {
  it('evaluates the conditions Argo users write', () => {
    expect(holds('result < 0.01', 0.004)).toBe(true);
    expect(holds('result < 0.01', 0.02)).toBe(false);
    expect(holds('result[0] >= 0.95', [0.97])).toBe(true);
    expect(holds('result[0] >= 0.95', [0.9])).toBe(false);
    expect(holds('isNaN(result) || result <= 500', Number.NaN)).toBe(true);
    expect(holds('isNaN(result) || result <= 500', 600)).toBe(false);
    expect(holds('len(result) > 0', [])).toBe(false);
    expect(holds('all(result, {# < 0.5})', [0.1, 0.4])).toBe(true);
    expect(holds('all(result, {# < 0.5})', [0.1, 0.6])).toBe(false);
    expect(holds('any(result, # > 0.5)', [0.1, 0.6])).toBe(true);
    expect(holds('count(result, {# > 1}) == 2', [0, 2, 3])).toBe(true);
    expect(holds('result.status == "ok" and result.items[-1].v >= 2', { status: 'ok', items: [{ v: 1 }, { v: 2 }] })).toBe(true);
    expect(holds('asFloat(result) < 1.5', '1.25')).toBe(true);
    expect(holds('not (result[0] > 1) && result[1] ** 2 == 9', [0, 3])).toBe(true);
    expect(holds('result[0] > 1 ? false : true', [0])).toBe(true);
    expect(holds('"b" in result', ['a', 'b'])).toBe(true);
    expect(holds('max(result) - min(result) < 0.2 && mean(result) == 0.5', [0.4, 0.5, 0.6])).toBe(true);
  });

  it('follows Go semantics for NaN: comparisons are false', () => {
    expect(holds('result < 1', Number.NaN)).toBe(false);
    expect(holds('result >= 1', Number.NaN)).toBe(false);
  });

  it('rejects what it does not know, with the position', () => {
    const fails = (source: string, message: RegExp) => {
      expect(() => parseCondition(source)).toThrow(ConditionSyntaxError);
      expect(() => parseCondition(source)).toThrow(message);
    };
    fails('result[0] >=', /unexpected end of condition/);
    fails('result[0] => 1', /unexpected character '='/);
    fails('process.exit(1)', /unknown name 'process'/);
    fails('constructor', /unknown name 'constructor'/);
    fails('len(result, 1)', /len\(\) takes 1 argument, given 2/);
    fails('# > 1', /only allowed inside a predicate/);
    fails('result < "abc', /unterminated string/);
    fails('result ; 1', /unexpected character ';'/);
  });

  it('reports type errors while evaluating rather than guessing', () => {
    expect(() => holds('result[3] > 1', [1])).toThrow(/index 3 is out of range: result has 1 element/);
    expect(() => holds('result > 1', [1])).toThrow(/needs a number, got a list of 1 \(index it/);
    expect(() => holds('result', 1)).toThrow(/not true or false/);
  });
});

describe('measurement verdicts (Argo rules, no data is never a pass)', () => {
  const phase = (success: string | undefined, failure: string | undefined, value: Value) =>
    assessValue(compileConditions(success, failure), value).phase;

  it('applies success and failure conditions as Argo does', () => {
    expect(phase(undefined, undefined, [1])).toBe('Successful');
    expect(phase('result[0] < 1', undefined, [0.5])).toBe('Successful');
    expect(phase('result[0] < 1', undefined, [2])).toBe('Failed');
    expect(phase(undefined, 'result[0] > 5', [6])).toBe('Failed');
    expect(phase(undefined, 'result[0] > 5', [1])).toBe('Successful');
    expect(phase('result[0] < 1', 'result[0] > 5', [3])).toBe('Inconclusive');
    expect(phase('result[0] < 1', 'result[0] > 5', [6])).toBe('Failed');
  });

  it('makes an empty result or NaN Inconclusive unless a condition checks for it', () => {
    expect(phase('result[0] < 0.01', undefined, [])).toBe('Inconclusive');
    expect(phase('result[0] < 0.01', undefined, [Number.NaN])).toBe('Inconclusive');
    expect(phase('result < 0.01', undefined, Number.NaN)).toBe('Inconclusive');
    expect(phase(undefined, 'result[0] > 0.01', [])).toBe('Inconclusive');
    expect(phase(undefined, undefined, [])).toBe('Inconclusive');
    expect(phase('isNaN(result) || result <= 500', undefined, Number.NaN)).toBe('Successful');
    expect(phase('len(result) == 0 || result[0] < 1', undefined, [])).toBe('Successful');
    expect(phase('len(result) > 0 && result[0] < 1', undefined, [])).toBe('Failed');
  });

  it('turns an evaluation problem on real data into an Error naming the condition', () => {
    const verdict = assessValue(compileConditions('result[1] < 1', undefined), [0.5]);
    expect(verdict.phase).toBe('Error');
    expect(verdict.message).toMatch(/successCondition could not be evaluated: index 1 is out of range/);
  });
});
