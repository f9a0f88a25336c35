/** The Kubernetes layer of the core: what blue-green, canary and rollback are written on. */
export { KubeClient, type KubeClientOptions } from './client.js';
export { loadKubeConfig, type KubeconfigSource } from './kubeconfig.js';
export { describeRef, type ObjectRef } from './object-ref.js';
export { KubeApiError, KubeObjectError, isConflict, isNotFound, type Verb } from './errors.js';
export { checkWeights, formatWeights, sameWeights, splitWeights, type Destinations, type Weights } from './weights.js';
export type { TrafficRouter, WriteOptions } from './routers/router.js';
export { IstioVirtualServiceRouter, type IstioRouterOptions } from './routers/istio-virtual-service.js';
export { HttpRouteRouter, type HttpRouteRouterOptions } from './routers/gateway-httproute.js';
export { ServiceSelectorRouter, type ServiceSelectorRouterOptions } from './routers/service-selector.js';
export { ReplicaRatioRouter, type ReplicaRatioRouterOptions } from './routers/replica-ratio.js';
export { ArgoRolloutRouter, type ArgoRolloutRouterOptions } from './routers/argo-rollout.js';
export { ArgoRollout, argoRolloutStatus, type ArgoRolloutStatus } from './argo-rollout.js';
export {
  deploymentRolloutState,
  readDeployment,
  revisionOf,
  RolloutFailedError,
  scaleDeployment,
  setDeploymentImage,
  undoDeployment,
  waitForDeploymentRollout,
  type DeploymentName,
  type ImageChange,
  type RolloutState,
  type UndoResult,
  type WaitOptions,
} from './deployment.js';
export { WaitTimeoutError } from './watch-until.js';
export {
  LockTimeoutError,
  ServiceLock,
  lockName,
  readLockHolder,
  releaseLockIfHeldBy,
  type LockHolder,
  type ServiceLockOptions,
} from './lease-lock.js';
export {
  Journal,
  journalConfigMapName,
  type Change,
  type EntryStatus,
  type PlannedChange,
  type JournalEntry,
  type JournalOptions,
} from './journal.js';
