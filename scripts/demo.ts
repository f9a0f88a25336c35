/**
 * `npm run demo [-- --out <dir>] [--metrics auto|prometheus|simulated] [--hold] [--verbose]`
 *
 * Runs the suite's main job on an embedded default: a blue-green switch of `checkout`, a canary of
 * `cart` that is promoted and one that breaches its error budget and is aborted, against the
 * project's test Kubernetes API server, Prometheus (or a labelled simulated source) and a local
 * stand-in for a Slack webhook. Writes summaries, outputs and Slack payloads to the output folder.
 * Exit code: 0 when every scenario ended as expected, 1 otherwise, 2 on bad usage, 130 on Ctrl-C.
 */
import { resolve } from 'node:path';
import { runDemo, type DemoOptions } from './demo/run-demo.js';

const USAGE = `usage: npm run demo [-- --out <dir>] [--metrics auto|prometheus|simulated] [--hold] [--verbose]

  --out <dir>       where summaries, outputs, Slack payloads and the kubeconfig go (default demo-output)
  --metrics <how>   auto (default): Prometheus when /usr/bin/prometheus and promtool are installed,
                    else a simulated source; prometheus: require it; simulated: never use it
  --hold            keep the servers running after the scenarios, for kubectl, until Ctrl-C
  --verbose         also print the flows' debug lines`;

function parseArgs(argv: string[]): Omit<DemoOptions, 'signal'> | undefined {
  const options: Omit<DemoOptions, 'signal'> = { out: resolve('demo-output'), metrics: 'auto', hold: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (!v) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--out') options.out = resolve(value());
    else if (flag === '--metrics') {
      const v = value();
      if (v !== 'auto' && v !== 'prometheus' && v !== 'simulated') throw new Error(`--metrics is auto, prometheus or simulated, not ${v}`);
      options.metrics = v;
    } else if (flag === '--hold') options.hold = true;
    else if (flag === '--verbose') options.verbose = true;
    else if (flag === '--help' || flag === '-h') return undefined;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return options;
}

let options: ReturnType<typeof parseArgs>;
try {
  options = parseArgs(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
if (!options) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const controller = new AbortController();
const interrupt = () => {
  if (controller.signal.aborted) {
    process.stderr.write('\nStopping now.\n');
    process.exit(130);
  }
  process.stderr.write(
    '\nInterrupted: cancelling the running flow (its post step restores traffic) and stopping the servers; Ctrl-C again to quit at once.\n',
  );
  controller.abort(new Error('the run was cancelled'));
};
process.on('SIGINT', interrupt);
process.on('SIGTERM', interrupt);

try {
  const result = await runDemo({ ...options, signal: controller.signal });
  const allOk = result.verdicts.length === 3 && result.verdicts.every((v) => v.ok);
  process.exitCode = controller.signal.aborted ? 130 : allOk ? 0 : 1;
} catch (error) {
  process.stderr.write(`demo failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = controller.signal.aborted ? 130 : 1;
}
