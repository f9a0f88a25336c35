import * as core from '@actions/core';
import { AnalysisNotSuccessfulError, runValidate } from '../core/metrics/validate-flow.js';
import { validateSpec } from '../core/specs/validate.js';
import { runAction } from './runtime.js';

/**
 * actions/validate: runs the metric analysis (src/core/metrics) and fails the step unless it is
 * Successful. On failure the outputs are still set, so later steps can read `result` and `report`.
 */
await runAction(validateSpec, {
  main: async (inputs, context) => {
    try {
      return await runValidate(inputs, context);
    } catch (error) {
      if (error instanceof AnalysisNotSuccessfulError) {
        for (const [name, value] of Object.entries(error.outputs)) core.setOutput(name, String(value));
      }
      throw error;
    }
  },
});
