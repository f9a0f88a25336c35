/**
 * The canary: a config in Argo Rollouts' vocabulary (config-schema.ts, config.ts), walked step by
 * step against a router and two workloads (targets.ts, walk.ts), gated by analyses (analysis.ts),
 * with its position kept on the cluster (canary-record.ts). The action's flow is flow.ts.
 */
export { canaryFlow, runCanary, postCanary, type CanaryInputs, type CanaryRunOptions } from './flow.js';
export {
  parseCanaryConfig,
  checkAnalyses,
  type CanaryConfig,
  type CanaryStep,
  type CanaryAnalysis,
  type BackgroundAnalysis,
} from './config.js';
export { canaryConfigSchema, type CanaryConfigInput } from './config-schema.js';
export { canaryConfigJsonSchema, canaryConfigJsonSchemaText } from './json-schema.js';
export { CanaryRecordStore, canaryRecordName, type CanaryRecord, type CanaryState } from './canary-record.js';
