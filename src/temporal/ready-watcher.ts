/**
 * Lets any number of local long-polling consumers wait for one queue through a single waiting call
 * to Temporal (`awaitReady` on the queue workflow): one per API process per queue, however many
 * consumers wait. The call is aborted as soon as nobody waits any more, so no call outlives its
 * consumers (or the process's connection).
 */
export class ReadyWatcher {
  private readonly waiters = new Set<{ until: number; wake: () => void }>();
  private running: Promise<void> | undefined;
  private call: AbortController | undefined;
  private closed = false;

  /**
   * @param awaitReady resolves true when a job is ready, false after `timeoutMs` (or earlier); it
   *   must give up when `signal` aborts.
   * @param onError called when a waiting call fails; the watcher retries after a short pause.
   */
  constructor(
    private readonly awaitReady: (timeoutMs: number, signal: AbortSignal) => Promise<boolean>,
    private readonly onError: (err: unknown) => void,
    private readonly maxCallMs = 50_000,
  ) {}

  /** Resolves when the queue may have a ready job, or at `until` (ms since the epoch), or on abort. */
  wait(until: number, signal?: AbortSignal): Promise<void> {
    if (this.closed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = {
        until,
        wake: () => {
          this.waiters.delete(waiter);
          clearTimeout(timer);
          signal?.removeEventListener('abort', waiter.wake);
          if (this.waiters.size === 0) this.call?.abort();
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, Math.max(0, until - Date.now()));
      signal?.addEventListener('abort', waiter.wake);
      this.waiters.add(waiter);
      this.running ??= this.run().finally(() => (this.running = undefined));
    });
  }

  /** Wakes every waiter and ends the waiting call. */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of [...this.waiters]) waiter.wake();
    this.call?.abort();
    await this.running;
  }

  private async run(): Promise<void> {
    while (this.waiters.size > 0 && !this.closed) {
      const latest = Math.max(...[...this.waiters].map((w) => w.until));
      const timeoutMs = Math.min(this.maxCallMs, Math.max(1, latest - Date.now()));
      const call = new AbortController();
      this.call = call;
      try {
        if (await this.awaitReady(timeoutMs, call.signal)) for (const waiter of [...this.waiters]) waiter.wake();
      } catch (err) {
        if (call.signal.aborted) continue;
        this.onError(err);
        await new Promise((r) => setTimeout(r, 200));
      } finally {
        this.call = undefined;
      }
    }
  }
}
