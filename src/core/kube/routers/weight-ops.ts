/**
 * The weight patch written once for the two routers that set weight fields in a list: Istio (an HTTP
 * route's destinations) and the Gateway API (a rule's backendRefs). weightOps plans it.
 */
import type { JsonPatchOp } from '../json-patch.js';
import type { Destinations, Weights } from '../weights.js';

/**
 * The JSON patch operations that set each destination's weight field to its target, only where
 * it differs from the live value (an absent field is added). `field(i)` locates destination i's
 * weight in the live object: its value and its JSON pointer.
 */
export function weightOps(
  destinations: Destinations,
  target: Weights,
  field: (i: number) => { live: unknown; path: string },
): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  destinations.forEach((destination, i) => {
    const { live, path } = field(i);
    if (live !== target[destination]) ops.push({ op: live === undefined ? 'add' : 'replace', path, value: target[destination] });
  });
  return ops;
}
