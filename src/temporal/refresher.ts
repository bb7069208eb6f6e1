import type { Client } from '@temporalio/client';

/**
 * Re-reads something from Temporal every `intervalMs`, one read at a time. `stop` ends the timer,
 * cancels a read still in flight and waits until it has settled: the SDK's gRPC retry would
 * otherwise call again on a connection the caller is about to close, and crash the process.
 */
export class Refresher {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly stopped = new AbortController();

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
    this.inFlight ??= this.client
      .withAbortSignal(this.stopped.signal, this.read)
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopped.abort();
    await this.inFlight?.catch(() => undefined);
  }
}
