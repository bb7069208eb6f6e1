import { setMaxListeners } from 'node:events';
import type { Client } from '@temporalio/client';

/**
 * Re-reads something from Temporal every `intervalMs`, one read at a time. `stop` ends the timer,
 * cancels a read still in flight and waits until it has settled: the SDK's gRPC retry would
 * otherwise call again on a connection the caller is about to close, and crash the process.
 */
export class Refresher {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: { done: Promise<void>; cancel: AbortController } | undefined;

  constructor(
    private readonly client: Client,
    private readonly read: () => Promise<void>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.now().catch(this.onError), this.intervalMs);
    this.timer.unref();
  }

  /** Reads now, or joins the read in flight. */
  now(): Promise<void> {
    if (!this.inFlight) {
      // One controller per read: the SDK never removes the listener it adds to the signal.
      const cancel = new AbortController();
      // One read may make many calls (a partitioned registry reads each namespace that moved), each adding a listener.
      setMaxListeners(Infinity, cancel.signal);
      const done = this.client.withAbortSignal(cancel.signal, this.read).finally(() => {
        this.inFlight = undefined;
      });
      this.inFlight = { done, cancel };
    }
    return this.inFlight.done;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.inFlight?.cancel.abort();
    await this.inFlight?.done.catch(() => undefined);
  }
}
