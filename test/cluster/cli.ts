/**
 * Standalone test cluster:
 *   npx tsx test/cluster/cli.ts --port 6443 --kubeconfig /tmp/kubeconfig [--manifests dir] [--pod-ready-delay-ms N] [--token T]
 *     [--omit-api group[/version]]...
 * Prints `ready` once it accepts requests; stops on SIGINT / SIGTERM.
 */
import { parseArgs } from 'node:util';
import { startTestCluster } from './server.js';
import { loadManifests } from './manifests.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      kubeconfig: { type: 'string' },
      manifests: { type: 'string' },
      'pod-ready-delay-ms': { type: 'string' },
      'progress-deadline-ms': { type: 'string' },
      token: { type: 'string' },
      'omit-api': { type: 'string', multiple: true },
    },
    strict: true,
  });
  const cluster = await startTestCluster({
    port: Number(values.port),
    ...(values.token ? { token: values.token } : {}),
    ...(values['pod-ready-delay-ms'] ? { podReadyDelayMs: Number(values['pod-ready-delay-ms']) } : {}),
    ...(values['progress-deadline-ms'] ? { progressDeadlineMs: Number(values['progress-deadline-ms']) } : {}),
    ...(values['omit-api'] ? { omitApis: values['omit-api'] } : {}),
  });
  const stop = async (signal: string) => {
    process.stderr.write(`test cluster: ${signal}, stopping\n`);
    await cluster.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  try {
    if (values.kubeconfig) await cluster.writeKubeconfig(values.kubeconfig);
    if (values.manifests) await cluster.apply(await loadManifests(values.manifests));
  } catch (err) {
    process.stderr.write(`test cluster: ${(err as Error).message}\n`);
    await cluster.stop();
    process.exit(1);
  }
  process.stderr.write(`test cluster listening on ${cluster.url}\n`);
  process.stdout.write('ready\n');
}

main().catch((err) => {
  process.stderr.write(`test cluster: ${(err as Error).message}\n`);
  process.exit(1);
});
