/**
 * Pod lifecycle, as a kubelet would report it: a new Pod is Pending and, after
 * `podReadyDelayMs`, Running and Ready — unless its template asks to fail
 * (an image containing `fail-rollout`, or annotation `test.cluster/fail: "true"`),
 * in which case it never turns Ready.
 */
import type { Store, KubeObject } from '../store.js';
import { nowTimestamp } from '../store.js';
import { POD, WorkQueue, nsName, splitKey, templateFails } from './common.js';

export class PodLifecycleController {
  private readonly queue: WorkQueue;
  private readonly unsubscribe: () => void;
  private nextIp = 2;

  constructor(
    private readonly store: Store,
    private readonly readyDelayMs: number,
  ) {
    this.queue = new WorkQueue((key) => this.reconcile(key));
    this.unsubscribe = store.subscribe((e) => {
      if (e.type_ === POD && e.type !== 'DELETED' && !e.object.status?.phase) this.queue.add(nsName(e.object));
    });
    for (const pod of store.list(POD)) this.queue.add(nsName(pod));
  }

  stop(): void {
    this.unsubscribe();
    this.queue.stop();
  }

  private reconcile(key: string): void {
    const [ns, name] = splitKey(key);
    const pod = this.store.peek(POD, ns, name);
    if (!pod) return;
    const phase = pod.status?.phase;
    if (!phase) {
      this.writeStatus(pod, this.pendingStatus());
      this.queue.addAfter(key, this.readyDelayMs);
      return;
    }
    if (phase === 'Pending' && !pod.status?.startTime) {
      this.writeStatus(pod, this.startedStatus(pod));
    }
  }

  private writeStatus(pod: KubeObject, status: any): void {
    const next = structuredClone(pod);
    next.status = status;
    this.store.update(POD, next, { subresource: 'status' });
  }

  private pendingStatus(): any {
    return {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: nowTimestamp() }],
      qosClass: 'BestEffort',
    };
  }

  private startedStatus(pod: KubeObject): any {
    const now = nowTimestamp();
    const failure = templateFails(pod);
    const containers: any[] = pod.spec?.containers ?? [];
    const ready = !failure;
    const n = this.nextIp++;
    const status: any = {
      phase: failure === 'image' ? 'Pending' : 'Running',
      conditions: [
        { type: 'PodReadyToStartContainers', status: 'True', lastProbeTime: null, lastTransitionTime: now },
        { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: now },
        {
          type: 'Ready',
          status: ready ? 'True' : 'False',
          lastProbeTime: null,
          lastTransitionTime: now,
          ...(ready
            ? {}
            : { reason: 'ContainersNotReady', message: `containers with unready status: [${containers.map((c) => c.name).join(' ')}]` }),
        },
        {
          type: 'ContainersReady',
          status: ready ? 'True' : 'False',
          lastProbeTime: null,
          lastTransitionTime: now,
          ...(ready
            ? {}
            : { reason: 'ContainersNotReady', message: `containers with unready status: [${containers.map((c) => c.name).join(' ')}]` }),
        },
        {
          type: 'PodScheduled',
          status: 'True',
          lastProbeTime: null,
          lastTransitionTime: pod.status?.conditions?.[0]?.lastTransitionTime ?? now,
        },
      ],
      hostIP: '10.0.0.1',
      hostIPs: [{ ip: '10.0.0.1' }],
      podIP: `10.244.${(n >> 8) & 255}.${n & 255}`,
      podIPs: [{ ip: `10.244.${(n >> 8) & 255}.${n & 255}` }],
      startTime: pod.status?.conditions?.[0]?.lastTransitionTime ?? now,
      qosClass: 'BestEffort',
      containerStatuses: containers.map((c) => ({
        name: c.name,
        image: c.image,
        imageID: failure === 'image' ? '' : `${c.image}@sha256:0000000000000000000000000000000000000000000000000000000000000000`,
        ready,
        started: !failure,
        restartCount: failure === 'annotation' ? 1 : 0,
        state:
          failure === 'image'
            ? { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` } }
            : failure === 'annotation'
              ? { waiting: { reason: 'CrashLoopBackOff', message: `back-off 10s restarting failed container=${c.name}` } }
              : { running: { startedAt: now } },
        lastState: {},
      })),
    };
    return status;
  }
}
