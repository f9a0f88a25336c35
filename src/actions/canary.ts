import '../quiet-deprecations.js';
import { canaryFlow } from '../core/canary/index.js';
import { runFlow } from './runtime.js';

/** actions/canary: walks a canary through its steps (src/core/canary), promoting or aborting it. */
await runFlow(canaryFlow);
