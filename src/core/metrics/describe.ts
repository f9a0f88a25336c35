/**
 * How an analysis result reads in a delivery's messages and timeline, the same for blue-green
 * and canary: the failing metrics with their values and conditions, each metric's last value as a
 * number, and the step's verdict (`passed`, `failed`, `inconclusive`).
 */
import type { AnalysisResult } from './result.js';

/**
 * The failing metrics with their values and conditions: what a step's error message says, e.g.
 * `metric error-rate Failed with values [0.08] (successCondition result[0] < 0.01): 1 failed measurement > failureLimit 0`.
 */
export function describeFailure(result: AnalysisResult): string {
  const failing = result.metrics.filter((m) => !m.dryRun && m.phase === result.phase);
  if (failing.length === 0) return result.message;
  return failing
    .map((m) => {
      const values = m.measurements.map((x) => x.value ?? x.phase).slice(-5);
      const condition = [
        m.successCondition && `successCondition ${m.successCondition}`,
        m.failureCondition && `failureCondition ${m.failureCondition}`,
      ]
        .filter(Boolean)
        .join(', ');
      return `metric ${m.name} ${m.phase} with values ${values.join(', ') || 'none'}${condition ? ` (${condition})` : ''}: ${m.message}`;
    })
    .join('; ');
}

/** Each metric's last measured value as a number (the first number of a vector), for the timeline and chart. */
export function lastValues(result: AnalysisResult): Record<string, number> {
  const values: Record<string, number> = {};
  for (const metric of result.metrics) {
    const text = [...metric.measurements].reverse().find((m) => m.value !== undefined)?.value;
    const number = text === undefined ? undefined : /-?\d+(?:\.\d+)?(?:e[-+]?\d+)?/i.exec(text)?.[0];
    if (number !== undefined) values[metric.name] = Number(number);
  }
  return values;
}

/** A timeline step's verdict: Successful passed, Inconclusive is inconclusive, anything else failed. */
export type StepVerdict = 'passed' | 'failed' | 'inconclusive';

export function verdictOf(result: Pick<AnalysisResult, 'phase'>): StepVerdict {
  return result.phase === 'Successful' ? 'passed' : result.phase === 'Inconclusive' ? 'inconclusive' : 'failed';
}

/** What a timeline step shows of an analysis: the last value of each metric that has one, and the verdict. */
export function timelineOf(result: AnalysisResult): { analysis?: Record<string, number>; verdict: StepVerdict } {
  const values = lastValues(result);
  return { ...(Object.keys(values).length > 0 ? { analysis: values } : {}), verdict: verdictOf(result) };
}
