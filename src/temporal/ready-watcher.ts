/**
 * Lets any number of local long-polling consumers wait for one queue through a single waiting call
 * to Temporal (`awaitReady` on the queue workflow): one per API process per queue, however many
 * consumers wait.
 */
export class ReadyWatcher {
  private readonly waiters = new Set<{ until: number; wake: () => void }>();
  private running = false;

  /**
   * @param awaitReady resolves true when a job is ready, false after `timeoutMs` (or earlier).
   * @param onError called when a waiting call fails; the watcher retries after a short pause.
   */
  constructor(
    private readonly awaitReady: (timeoutMs: number) => Promise<boolean>,
    private readonly onError: (err: unknown) => void,
    private readonly maxCallMs = 50_000,
  ) {}

  /** Resolves when the queue may have a ready job, or at `until` (ms since the epoch), or on abort. */
  wait(until: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const waiter = {
        until,
        wake: () => {
          this.waiters.delete(waiter);
          clearTimeout(timer);
          signal?.removeEventListener('abort', waiter.wake);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, Math.max(0, until - Date.now()));
      signal?.addEventListener('abort', waiter.wake);
      this.waiters.add(waiter);
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.waiters.size > 0) {
        const latest = Math.max(...[...this.waiters].map((w) => w.until));
        const timeoutMs = Math.min(this.maxCallMs, Math.max(1, latest - Date.now()));
        let ready: boolean;
        try {
          ready = await this.awaitReady(timeoutMs);
        } catch (err) {
          this.onError(err);
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        if (ready) for (const waiter of [...this.waiters]) waiter.wake();
      }
    } finally {
      this.running = false;
    }
  }
}
