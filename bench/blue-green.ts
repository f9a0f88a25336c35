/**
 * The blue-green flow against the test cluster: wall time and Kubernetes API requests
 *  - from the switch decision (live color read, target chosen) to the new weights stored, and
 *  - from a failed post-switch validation (one measurement, no interval) to traffic back on the old color.
 * Marks are taken from the flow's own log lines, so the flow runs unchanged.
 */
import { runBlueGreen } from '../src/core/blue-green/flow.js';
import { FlowFailure } from '../src/core/flow.js';
import { KubeClient } from '../src/core/kube/client.js';
import { MemoryReporter } from '../src/core/reporter.js';
import { Secrets } from '../src/core/secrets.js';
import { blueGreenSpec } from '../src/core/specs/blue-green.js';
import { parseInputs } from '../src/core/specs/spec.js';
import { colorDeployments, hostsInputs, hostsVirtualService } from '../test/blue-green/harness.js';
import { startTestCluster } from '../test/cluster/server.js';
import { startPrometheus, toOpenMetrics } from '../test/support/prometheus.js';
import { median, type BenchRow } from './lib.js';

const RUNS = 10;

/** A reporter that notes when (and after how many API requests) a line matching each mark is logged. */
class MarkingReporter extends MemoryReporter {
  readonly marks = new Map<string, { at: number; requests: number }>();
  constructor(
    private readonly client: KubeClient,
    private readonly patterns: Record<string, RegExp>,
  ) {
    super();
  }
  override info(message: string): void {
    this.mark(message);
    super.info(message);
  }
  override warn(message: string): void {
    this.mark(message);
    super.warn(message);
  }
  private mark(message: string): void {
    for (const [name, pattern] of Object.entries(this.patterns)) {
      if (!this.marks.has(name) && pattern.test(message))
        this.marks.set(name, { at: performance.now(), requests: this.client.requestCount });
    }
  }
  between(from: string, to: string): { ms: number; requests: number } {
    const a = this.marks.get(from);
    const b = this.marks.get(to);
    if (!a || !b) throw new Error(`bench: marks ${from} -> ${to} not both logged`);
    return { ms: b.at - a.at, requests: b.requests - a.requests };
  }
}

export async function run(): Promise<BenchRow[]> {
  const [cluster, prom] = await Promise.all([startTestCluster({ podReadyDelayMs: 5 }), startPrometheus({ openMetrics: toOpenMetrics() })]);
  try {
    const client = KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfig });
    await cluster.apply([
      ...colorDeployments('checkout'),
      hostsVirtualService('checkout'),
      ...colorDeployments('ledger'),
      hostsVirtualService('ledger'),
    ]);
    const failing = `metrics: [{ name: errors, successCondition: "result[0] < 0.05", provider: { prometheus: { query: "vector(0.2)" } } }]`;
    const plans = [
      {
        name: 'switch decision -> new weights stored (istio hosts, one step)',
        raw: hostsInputs('checkout'),
        from: 'decided',
        to: 'stored',
      },
      {
        name: 'failed validation -> traffic back on the old color (istio hosts)',
        raw: hostsInputs('ledger', {
          analysis: failing,
          'prometheus-address': prom.url,
          'pre-switch-analysis': 'false',
          'validation-duration': '1s',
        }),
        from: 'failed',
        to: 'back',
      },
    ];
    const rows: BenchRow[] = [];
    for (const plan of plans) {
      const times: number[] = [];
      const requests: number[] = [];
      for (let i = 0; i <= RUNS; i++) {
        const reporter = new MarkingReporter(client, {
          decided: /switching to/,
          stored: /^Step \d+\/\d+: .* routes /,
          failed: /^errors: Failed/,
          back: /^Switched back: /,
        });
        const state = new Map<string, string>();
        const context = {
          reporter,
          secrets: new Secrets(),
          runId: `bench-${plan.from}-${i}`,
          signal: new AbortController().signal,
          state: { get: (k: string) => state.get(k) ?? '', set: (k: string, v: string) => void state.set(k, v) },
          run: {
            serverUrl: '',
            repository: 'bench/bench',
            runId: String(i),
            runAttempt: '1',
            actor: 'bench',
            sha: '',
            ref: '',
            runUrl: '',
          },
        };
        await runBlueGreen(parseInputs(blueGreenSpec, plan.raw), context, { client }).catch((error: unknown) => {
          if (!(error instanceof FlowFailure)) throw error;
        });
        if (i === 0) continue; // warm-up
        const { ms, requests: n } = reporter.between(plan.from, plan.to);
        times.push(ms);
        requests.push(n);
      }
      rows.push({
        area: 'blue-green',
        name: plan.name,
        median: median(times),
        unit: 'ms',
        runs: RUNS,
        note: `${median(requests)} API requests`,
      });
    }
    return rows;
  } finally {
    await Promise.all([cluster.stop(), prom.stop()]);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of await run()) console.log(`${row.name}: median ${row.median.toFixed(1)} ${row.unit} over ${row.runs} runs, ${row.note}`);
}
