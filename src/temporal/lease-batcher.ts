/**
 * Merges concurrent requests for the same queue into one call, so an API process sends at most one
 * lease update per queue at a time however many consumers wait on it. Temporal limits in-flight
 * updates per workflow (history.maxInFlightUpdates, 10 by default): this keeps Ferry well below it.
 */
export class LeaseBatcher<T> {
  private waiting: { count: number; resolve: (items: T[]) => void; reject: (err: unknown) => void }[] = [];
  private inFlight = false;

  constructor(private readonly fetch: (count: number) => Promise<T[]>) {}

  /** Up to `count` items; fewer (or none) when fewer are available. Earlier callers are served first. */
  take(count: number): Promise<T[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ count, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.inFlight || this.waiting.length === 0) return;
    const batch = this.waiting;
    this.waiting = [];
    this.inFlight = true;
    const total = batch.reduce((n, r) => n + r.count, 0);
    this.fetch(total)
      .then(
        (items) => {
          let at = 0;
          for (const request of batch) {
            request.resolve(items.slice(at, at + request.count));
            at += request.count;
          }
        },
        (err: unknown) => batch.forEach((r) => r.reject(err)),
      )
      .finally(() => {
        this.inFlight = false;
        this.pump();
      });
  }
}
