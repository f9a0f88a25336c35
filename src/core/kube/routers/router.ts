/**
 * The router interface (flagger's three parts: this interface, the factory in factory.ts that
 * builds a router from its journaled RouterSpec, and one file per mesh beside them).
 */
import type { ObjectRef } from '../object-ref.js';
import type { RoutePin } from './route-pin.js';
import type { Destinations, Weights } from '../weights.js';

export interface WriteOptions {
  /** Plan only: check the target against the live object and return it, change nothing. */
  dryRun?: boolean;
}

/**
 * How traffic is split between two destinations. Blue-green and canary are written once against
 * this; each implementation changes only its weight fields, carrying the resourceVersion it read.
 */
export interface TrafficRouter {
  /** The object whose weights this router changes (what the journal records). */
  readonly ref: ObjectRef;
  /** The two destination names that key the weights. */
  readonly destinations: Destinations;
  /** One line for logs and summaries, e.g. `VirtualService shop/checkout route "primary": hosts blue.shop, green.shop`. */
  describe(): string;
  /** The live weights. Throws KubeObjectError when the object does not route as configured. */
  read(): Promise<Weights>;
  /**
   * Sets the weights and returns the weights now live (for an approximating router, what it achieved).
   * Refuses (RangeError, before any request) weights that are not two integers 0..100 summing to 100,
   * and throws KubeObjectError when the router cannot express them.
   */
  write(target: Weights, options?: WriteOptions): Promise<Weights>;
  /**
   * For a router that changes one route of several (Istio, Gateway API): the route's identity,
   * fixed by its first successful read or given by its options, never a position. The journal
   * records it, so every later write of the run and every undo finds the same route.
   */
  pinned?(): RoutePin | undefined;
}
