/**
 * Inputs and outputs that several actions share, written once: the cluster (kubeconfig,
 * namespace, service), the run (dry-run, run id, release, lock timeout), notifications (Slack,
 * GitHub deployments) and the delivery file.
 */
import * as z from 'zod';
import { booleanInput, duration, httpUrl, MAX_SERVICE_NAME, namespaceName, serviceName } from '../config/primitives.js';
import type { InputDef } from './spec.js';

/** Inputs that every action that talks to the cluster shares. */
export const clusterInputs = {
  kubeconfig: {
    description:
      "Kubeconfig content (use a secret). Empty: the runner's default (`KUBECONFIG`, ~/.kube/config, else the in-cluster ServiceAccount). Masked in logs.",
    secret: true,
    schema: z.string().min(20, 'expected the content of a kubeconfig file, not a path or a fragment'),
  },
  context: { description: 'Kubeconfig context to use. Empty: its current-context.', schema: objectNameLike() },
  namespace: { description: 'Namespace of the service.', required: true, schema: namespaceName },
  service: {
    description: `Name of the service being delivered; names the lock, the journal and the canary record (\`pd-lock-\`, \`pd-state-\` and \`pd-canary-<service>\`), so at most ${MAX_SERVICE_NAME} characters.`,
    required: true,
    schema: serviceName,
  },
} satisfies Record<string, InputDef>;

export const runInputs = {
  'dry-run': {
    description: 'Print the plan (current state and what would change) and change nothing.',
    default: 'false',
    schema: booleanInput,
  },
  'run-id': {
    description: 'Idempotency key of this run: a re-run with the same id does not apply a change twice. Empty: the workflow run id.',
    schema: z.string().regex(/^[A-Za-z0-9._-]{1,63}$/, 'expected 1-63 letters, digits, ".", "_" or "-"'),
  },
  release: {
    description:
      "Id of the release this run belongs to: one intended change of the service to a new version, made by one or more runs (start, promote, resume, abort). Rollback undoes a release as a whole. Empty: the running canary's release for canary `promote`, `abort` and `status`; otherwise this run's run id.",
    schema: z.string().regex(/^[A-Za-z0-9._-]{1,63}$/, 'expected 1-63 letters, digits, ".", "_" or "-"'),
  },
  'lock-timeout': {
    description: 'How long to wait for another run on the same service to release its lock.',
    default: '5m',
    schema: duration,
  },
  'lease-duration': {
    description:
      "How long the service's lock (a Lease) outlives its run's last renewal; the run renews it every third of that. A run that dies (its runner lost) blocks the next run until then; the next run waits it out within its lock-timeout, or rollback's `force` takes the lock at once. From 15s to 10m.",
    default: '60s',
    schema: duration.refine((ms) => ms >= 15_000 && ms <= 600_000, {
      message:
        'expected 15s to 10m: shorter risks losing the lock between renewals, longer keeps a dead run blocking the next one that long',
    }),
  },
} satisfies Record<string, InputDef>;

export const notifyInputs = {
  'slack-webhook-url': {
    description: 'Slack incoming webhook URL (use a secret). Masked in logs.',
    secret: true,
    schema: httpUrl,
  },
  'slack-token': {
    description:
      'Slack bot token (xoxb-…) to post and update one message per deployment: its app needs the bot scope `chat:write`, and the bot must be invited to the channel (`/invite @your-app`). Masked in logs.',
    secret: true,
    schema: z.string().regex(/^xox[a-z]-[A-Za-z0-9-]+$/, 'expected a Slack bot token starting with xoxb-'),
  },
  'slack-channel': {
    description: 'Slack channel id for the bot token (e.g. C0123456789).',
    schema: z.string().regex(/^[A-Z0-9]{8,12}$|^#[a-z0-9_-]{1,80}$/, 'expected a channel id such as C0123456789'),
  },
  'notify-failure-fails': {
    description: 'Fail the step when a notification cannot be delivered (default: warn and go on).',
    default: 'false',
    schema: booleanInput,
  },
  'github-token': {
    description: 'Token for GitHub deployment statuses (needs `deployments: write`). Empty: no deployment is recorded.',
    secret: true,
    schema: z.string().min(10, 'expected a GitHub token'),
  },
  environment: {
    description: 'Environment name for the GitHub deployment and the messages (e.g. production).',
    schema: z.string().regex(/^[\w .-]{1,80}$/, 'expected an environment name such as production'),
  },
  'environment-url': {
    description: 'URL of the deployed environment, linked from the summary and Slack.',
    schema: httpUrl,
  },
  'slack-message': {
    description:
      "With slack-token: the Slack message of an earlier job of the same release (that step's `slack-message` output, `<channel>/<ts>`), updated in place instead of posting a new one, so a release is one message through its phases.",
    schema: z
      .string()
      .regex(
        /^[A-Z0-9]{8,12}\/\d{1,12}\.\d{1,8}$/,
        'expected <channel id>/<ts>, the slack-message output of an earlier step, e.g. C0123456789/1733112000.000100',
      ),
  },
} satisfies Record<string, InputDef>;

/** What every action that notifies gives back: the Slack message, for the next job of the release. */
export const notifyOutputs = {
  'slack-message': {
    description:
      'The Slack message posted or updated with slack-token, as `<channel>/<ts>` (not a secret): pass it as `slack-message` to the next job of the release.',
  },
} satisfies Record<string, { description: string }>;

/** The service's delivery file (src/core/specs/delivery-file.ts): the settings that stay the same from release to release. */
export const deliveryFileInput = {
  'delivery-file': {
    description:
      "The service's delivery file: a YAML file in the workspace whose keys are this action's inputs (namespace, router, steps, analysis…; never secrets), for every input left empty. An input given wins over the file, the file over the default. Empty: `.github/delivery/<service>.yaml` when it exists. JSON schema: actions/delivery.schema.json.",
    schema: z
      .string()
      .regex(/^[^\n]+\.(ya?ml|json)$/i, 'expected the path of a .yaml, .yml or .json file, e.g. .github/delivery/checkout.yaml'),
  },
} satisfies Record<string, InputDef>;

function objectNameLike() {
  return z.string().regex(/^[A-Za-z0-9@:._/-]{1,253}$/, 'expected a kubeconfig context name');
}
