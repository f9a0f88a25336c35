/** `action: status`: where the canary stands, from the canary record and the live router. No lock, no writes. */
import type { FlowOutputs } from '../flow.js';
import type { KubeClient } from '../kube/client.js';
import { formatWeights } from '../kube/weights.js';
import { JobSummary } from '../notify/job-summary.js';
import { code, Markdown } from '../notify/markdown.js';
import type { Reporter } from '../reporter.js';
import { canaryReleaseOf, CanaryRecordStore } from './canary-record.js';
import type { CanaryConfig } from './config.js';
import { createTarget } from './targets.js';
import { describeStep, stepNumber } from './walk.js';

export async function canaryStatus(options: {
  client: KubeClient;
  config: CanaryConfig;
  namespace: string;
  service: string;
  container?: string;
  reporter: Reporter;
  rolloutTimeoutMs: number;
}): Promise<FlowOutputs> {
  const { client, config, reporter } = options;
  const target = createTarget(client, config, options.namespace, options.rolloutTimeoutMs);
  const records = new CanaryRecordStore(client, options.namespace, options.service);
  const [record, live, weights, left] = await Promise.all([
    records.read(),
    target.inspect(options.container),
    target.router.read(),
    target.leftRunning?.() ?? [],
  ]);
  const state = record?.state ?? 'none';
  const step = record ? (record.stepIndex < 0 ? 'deploying the canary' : describeStep(config.steps[record.stepIndex])) : '';
  reporter.info(
    record
      ? `Canary of ${record.image} (release ${canaryReleaseOf(record)}, run ${record.runId}): ${state} at step ${Math.min(stepNumber(record.stepIndex), config.steps.length)} (${step}); live traffic ${formatWeights(weights)}${record.reason ? `; ${record.reason}` : ''}`
      : `No canary is recorded for ${options.service}; live traffic ${formatWeights(weights)}`,
  );
  const doc = new Markdown();
  doc.heading(3, `Canary status of ${options.service}: ${state}`);
  doc.table(
    ['', ''],
    [
      ['State', state],
      ['Image', record ? code(record.image) : ''],
      ['Stable image', code(live.stableImage)],
      ['Step', record ? `${Math.min(stepNumber(record.stepIndex), config.steps.length)} of ${config.steps.length} (${step})` : ''],
      ['Live traffic', formatWeights(weights)],
      ['Router', target.router.describe()],
      ['Release', record ? canaryReleaseOf(record) : ''],
      ['Run', record?.runId ?? ''],
      ['Updated', record?.updatedAt ?? ''],
      ['Why', record?.reason ?? ''],
    ],
  );
  // Argo's scale-down delays: a version that takes no traffic but still runs.
  for (const line of left) reporter.info(line);
  if (left.length) doc.heading(4, 'Still running').bullets(left);
  new JobSummary(reporter).write(doc.toString());
  return {
    result: state,
    weight: live.canaryWeight,
    step: record ? Math.min(stepNumber(record.stepIndex), config.steps.length) : 0,
    analysis: [],
  };
}
