import '../quiet-deprecations.js';
import { validateFlow } from '../core/metrics/validate-flow.js';
import { runFlow } from './runtime.js';

/** actions/validate: runs the metric analysis (src/core/metrics) and fails the step unless it is Successful. */
await runFlow(validateFlow);
