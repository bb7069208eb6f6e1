/**
 * Merges concurrent requests for one resource into one call at a time: while a call is in flight,
 * new requests wait and then go together in the next one. An API process so sends at most one lease
 * update, or one ready signal, per queue at a time however many clients it serves. Temporal limits
 * in-flight updates per workflow (history.maxInFlightUpdates, 10 by default), and every signal is a
 * history event taken under the workflow's lock: merging keeps hot index workflows well below both.
 * A call runs in the async context of the request that started the chain (its deadline, its abort
 * signal): a call that must not inherit them sets its own.
 */
export class Coalescer<Req, Res> {
  private waiting: { request: Req; resolve: (result: Res) => void; reject: (err: unknown) => void }[] = [];
  private inFlight = false;

  /** `call` answers one result per request, in the order of the requests. */
  constructor(private readonly call: (requests: Req[]) => Promise<Res[]>) {}

  /** Earlier requests come first in the merged call. */
  run(request: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ request, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.inFlight || this.waiting.length === 0) return;
    const batch = this.waiting;
    this.waiting = [];
    this.inFlight = true;
    this.call(batch.map((w) => w.request))
      .then(
        (results) => batch.forEach((w, i) => w.resolve(results[i]!)),
        (err: unknown) => batch.forEach((w) => w.reject(err)),
      )
      .finally(() => {
        this.inFlight = false;
        this.pump();
      });
  }
}

/** Takes up to `count` items per request from one call for their sum, earlier requests first. */
export function takeInOrder<T>(take: (count: number) => Promise<T[]>): (counts: number[]) => Promise<T[][]> {
  return async (counts) => {
    const items = await take(counts.reduce((n, c) => n + c, 0));
    let at = 0;
    return counts.map((count) => items.slice(at, (at += count)));
  };
}
