/**
 * A measurement's phase from its value and conditions, by Argo Rollouts' rules (no data is
 * Inconclusive).
 */
import { ConditionEvalError, evaluateCondition, type Value } from './evaluate.js';
import { callsAny, NO_DATA_CHECKS, parseCondition, type Node } from './parse.js';

export type MeasurementPhase = 'Successful' | 'Failed' | 'Inconclusive' | 'Error';

export interface CompiledConditions {
  success?: { source: string; node: Node };
  failure?: { source: string; node: Node };
  /** True when a condition checks for missing data itself (isNaN, isNil, len, default). */
  handlesNoData: boolean;
}

/** Parses both conditions; throws ConditionSyntaxError from the first that does not parse. */
export function compileConditions(successCondition?: string, failureCondition?: string): CompiledConditions {
  const success = successCondition ? { source: successCondition, node: parseCondition(successCondition) } : undefined;
  const failure = failureCondition ? { source: failureCondition, node: parseCondition(failureCondition) } : undefined;
  const handlesNoData = [success, failure].some((c) => c !== undefined && callsAny(c.node, NO_DATA_CHECKS));
  return { success, failure, handlesNoData };
}

/** No data: nil, NaN, an empty list, or a list (of lists) holding nothing but NaN. */
export function isNoData(value: Value): boolean {
  if (value === null) return true;
  if (typeof value === 'number') return Number.isNaN(value);
  if (Array.isArray(value))
    return value.length === 0 || value.every((v) => (Array.isArray(v) || typeof v === 'number' || v === null) && isNoData(v));
  return false;
}

/**
 * Argo Rollouts' rules for one measured value (analysis/evaluate.EvaluateResult):
 *  - no conditions: Successful;
 *  - only successCondition: Failed when it is false;
 *  - only failureCondition: Failed when it is true, else Successful;
 *  - both: Failed if failure holds, Successful if only success holds, Inconclusive if neither;
 *  - a condition that cannot be evaluated: Error.
 * One deliberate difference: no data (see isNoData) is Inconclusive, never Successful or Failed,
 * unless a condition checks for it itself (isNaN(result) || ..., len(result) > 0 && ...).
 * Argo would report `result[0] < 0.01` on NaN as Failed and on an empty vector as Error.
 */
export function assessValue(conditions: CompiledConditions, value: Value): { phase: MeasurementPhase; message?: string } {
  const noData = isNoData(value);
  if (noData && !conditions.handlesNoData) {
    return {
      phase: 'Inconclusive',
      message: 'no data: the query returned nothing (or NaN); check the query, or handle it with isNaN(...) / len(result)',
    };
  }
  let success: boolean | undefined;
  let failure: boolean | undefined;
  try {
    if (conditions.success) success = evaluateCondition(conditions.success.node, value);
    if (conditions.failure) failure = evaluateCondition(conditions.failure.node, value);
  } catch (error) {
    if (!(error instanceof ConditionEvalError)) throw error;
    const which = success === undefined && conditions.success ? 'successCondition' : 'failureCondition';
    if (noData) return { phase: 'Inconclusive', message: `no data: ${which} could not be evaluated: ${error.message}` };
    return { phase: 'Error', message: `${which} could not be evaluated: ${error.message}` };
  }
  if (success === undefined && failure === undefined) return { phase: 'Successful' };
  if (failure === undefined)
    return success ? { phase: 'Successful' } : { phase: 'Failed', message: `successCondition is false: ${conditions.success!.source}` };
  if (success === undefined)
    return failure ? { phase: 'Failed', message: `failureCondition is true: ${conditions.failure!.source}` } : { phase: 'Successful' };
  if (failure) return { phase: 'Failed', message: `failureCondition is true: ${conditions.failure!.source}` };
  if (success) return { phase: 'Successful' };
  return { phase: 'Inconclusive', message: 'neither successCondition nor failureCondition holds' };
}
