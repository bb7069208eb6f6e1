import type { Duration } from '@temporalio/common';
import { condition, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { IndexSpan } from '../activities/index-range';
import type { OrderedIndex } from './ordered-index';

const { listIndexRange } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '60s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' },
});

/**
 * Loads an index's spilled ranges back from visibility, one at a time, whenever its head runs low.
 * Handlers `poke` it after taking entries; the main loop pokes it when a retry is due.
 */
export class Refiller {
  private running: Promise<void> | undefined;

  constructor(
    private readonly index: OrderedIndex,
    private readonly span: Omit<IndexSpan, 'from' | 'to'>,
  ) {}

  poke(): void {
    if (this.running) return;
    const range = this.index.nextRefill(Date.now());
    if (!range) return;
    this.running = listIndexRange({ ...this.span, from: range.from, to: range.to })
      .then(
        (listed) => void this.index.completeRefill(listed, Date.now()),
        () => this.index.abandonRefill(Date.now()),
      )
      .finally(() => {
        this.running = undefined;
        this.poke();
      });
  }

  /** Waits (up to `timeout`) until an entry can be taken or nothing is left anywhere. */
  async untilAvailable(timeout: Duration = '5s'): Promise<void> {
    if (this.index.available > 0 || this.index.spilledCount === 0) return;
    this.poke();
    await condition(() => this.index.available > 0 || this.index.spilledCount === 0, timeout);
  }

  /** Resolves when no listing is in flight; continue-as-new waits for it. */
  async idle(): Promise<void> {
    await condition(() => this.running === undefined);
  }
}
