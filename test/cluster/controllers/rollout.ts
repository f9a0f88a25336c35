import type { Store } from '../store.js';
export class RolloutController {
  constructor(private readonly store: Store) {}
  stop(): void {
    void this.store;
  }
}
