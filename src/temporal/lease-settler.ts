/**
 * Settles one queue's leases once their jobs are working (or were found not ready). Under load
 * another lease to the same queue follows within milliseconds and the settle rides on it: one
 * Temporal call and one index workflow task less per consumed batch. When none follows within
 * `delayMs`, a `forget` signal carries it. Leases never settled (this process died) return to the
 * index after their lease time and are dropped by the next consumer, as before.
 */
export class LeaseSettler {
  private pending: string[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly forget: (jobIds: string[]) => Promise<void>,
    private readonly delayMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  add(jobIds: readonly string[]): void {
    if (jobIds.length === 0) return;
    this.pending.push(...jobIds);
    this.timer ??= setTimeout(() => void this.flush(), this.delayMs);
  }

  /** The settles a lease about to go out carries; `add` them back if it was not applied. */
  take(): string[] {
    const jobIds = this.pending;
    this.pending = [];
    clearTimeout(this.timer);
    this.timer = undefined;
    return jobIds;
  }

  /** Sends what is pending now; on failure it stays pending for the next lease or try. */
  async flush(): Promise<void> {
    const jobIds = this.take();
    if (jobIds.length === 0) return;
    try {
      await this.forget(jobIds);
    } catch (err) {
      this.onError(err);
      this.add(jobIds);
    }
  }
}
