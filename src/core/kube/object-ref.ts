/** Which object a call is about: named in every message and every recorded change. */
export interface ObjectRef {
  kind: string;
  namespace: string;
  name: string;
}

/** `VirtualService shop/checkout` */
export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace}/${ref.name}`;
}
